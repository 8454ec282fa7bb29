/* Data-driven import suite: tests/unit/data/import/<case>/ holds the input,
   one of
     input.json   a report file (handmade),
     input_ref    the path of a real report under
                  $PATCHGATE_SRC/../shared/testdata/reports/,
     stdin        a byte stream fed to `-` (concatenated reports),
     stdin_refs   real reports, one path a line, concatenated and fed to `-`,
   optionally with
     entries.json {"into": "matches" | "Results/0/Vulnerabilities" | ...,
                  "entries": [...], "every_order": bool}: the report (from
                  input_ref or input.json) with the array at INTO replaced
                  by ENTRIES, which keeps a real report real but for the
                  entries under test; with every_order, imported once per
                  order of the entries, each time to the same expected.json
                  (a merge must not depend on the order),
   and the outcome, one of
     expected.json  what the scan must hold (only the keys present are
                    checked; an array holds one object per report, in order):
                    scanner, scanner_version, source, scanned_at, created
                    (RFC 3339, or 0 / null for unknown), image_id,
                    manifest_digest, repo_digests, repo_tags, os_family,
                    os_name, eosl, diff_ids, n_diff_ids, first_diff_id,
                    n_vulns, n_fixable (fixed != NULL), n_packages,
                    severities {NAME: count}, vulns [{id, pkg, installed,
                    fixed, remedy, severity, status, fix_date (RFC 3339,
                    or 0), fix_date_kind}] (found by id, pkg and
                    installed when given), packages [{name, version}],
     error          a substring of the error message.
   After the cases: directories, and the store round trip.  */
#include "suite.h"
#include "import/import.h"
#include "import/scan_builder.h"
#include "base/json.h"
#include "base/clock.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

struct collected
{
  struct pg_scan *scans;
  size_t n;
};

static int
collect_report (json_t *doc, const char *source, void *data, pg_error_t *err)
{
  struct collected *c = data;
  struct pg_scan scan = { 0 };

  if (import_parse_report (doc, source, &scan, err) < 0)
    return -1;
  c->scans = xrealloc (c->scans, (c->n + 1) * sizeof (*c->scans));
  c->scans[c->n++] = scan;
  return 0;
}

static void
collected_free (struct collected *c)
{
  for (size_t i = 0; i < c->n; i++)
    pg_scan_free (&c->scans[i]);
  free (c->scans);
  c->scans = NULL;
  c->n = 0;
}

static char *
report_ref (const char *ref)
{
  return suite_path ("../shared/testdata/reports/%s", ref);
}

static bool
case_has (const char *dir, const char *name)
{
  cleanup_free char *p = NULL;
  xasprintf (&p, "%s/%s", dir, name);
  return access (p, F_OK) == 0;
}

/* Concatenate the reports named in REFS_FILE into a temporary file.  */
static char *
concat_refs (const char *dir)
{
  cleanup_free char *refs = suite_text (dir, "stdin_refs");
  char *tmp = xstrdup ("/tmp/patchgate-test-import-XXXXXX");
  int fd = mkstemp (tmp);
  char *save = NULL;

  if (fd < 0 || refs == NULL)
    fail_msg ("%s: cannot prepare stdin", dir);
  for (char *line = strtok_r (refs, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      cleanup_free char *path = report_ref (line);
      cleanup_free char *buf = NULL;
      size_t len = 0;
      pg_error_t err = NULL;
      if (read_all_file (path, PG_MAX_REPORT_SIZE, &buf, &len, &err) < 0)
        fail_msg ("%s", err->msg);
      if (write (fd, buf, len) != (ssize_t) len)
        fail_msg ("%s: write: %s", tmp, strerror (errno));
    }
  close (fd);
  return tmp;
}

/* Run import_foreach_report on PATH with FILE as stdin (when not NULL).  */
static int
read_reports (const char *path, const char *stdin_file, struct collected *c, pg_error_t *err)
{
  char *paths[] = { (char *) path };
  int saved = -1, r;

  if (stdin_file)
    {
      int fd = open (stdin_file, O_RDONLY);
      saved = dup (STDIN_FILENO);
      if (fd < 0 || saved < 0 || dup2 (fd, STDIN_FILENO) < 0)
        fail_msg ("%s: cannot redirect stdin", stdin_file);
      close (fd);
    }
  r = import_foreach_report (paths, 1, collect_report, c, err);
  if (saved >= 0)
    {
      dup2 (saved, STDIN_FILENO);
      close (saved);
    }
  return r;
}

/* ---- comparing a scan with expected.json ---- */

static void
expect_str (const char *where, const char *field, json_t *exp, const char *got)
{
  if (exp == NULL)
    return;
  if (json_is_null (exp))
    {
      if (got != NULL)
        fail_msg ("%s: %s: expected null, got \"%s\"", where, field, got);
      return;
    }
  if (got == NULL || strcmp (json_string_value (exp), got) != 0)
    fail_msg ("%s: %s: expected \"%s\", got \"%s\"", where, field, json_string_value (exp),
              got ? got : "(null)");
}

static void
expect_int (const char *where, const char *field, json_t *exp, long long got)
{
  if (exp == NULL)
    return;
  if (json_integer_value (exp) != got)
    fail_msg ("%s: %s: expected %lld, got %lld", where, field, (long long) json_integer_value (exp), got);
}

static void
expect_time (const char *where, const char *field, json_t *exp, int64_t got)
{
  int64_t want = 0;
  char buf[64];

  if (exp == NULL)
    return;
  if (json_is_string (exp) && parse_rfc3339 (json_string_value (exp), &want) < 0)
    fail_msg ("%s: %s: bad expected time %s", where, field, json_string_value (exp));
  if (json_is_integer (exp))
    want = json_integer_value (exp);
  format_rfc3339 (got, buf, sizeof (buf));
  if (want != got)
    fail_msg ("%s: %s: expected %lld, got %lld (%s)", where, field, (long long) want, (long long) got, buf);
}

static void
expect_strv (const char *where, const char *field, json_t *exp, char **v, size_t n)
{
  json_t *e;
  size_t i;

  if (exp == NULL)
    return;
  if (json_array_size (exp) != n)
    fail_msg ("%s: %s: expected %zu entries, got %zu", where, field, json_array_size (exp), n);
  json_array_foreach (exp, i, e)
    if (strcmp (json_string_value (e), v[i]) != 0)
      fail_msg ("%s: %s[%zu]: expected \"%s\", got \"%s\"", where, field, i, json_string_value (e), v[i]);
}

static const struct pg_vuln *
find_vuln (const struct pg_scan *scan, json_t *exp)
{
  const char *id = pg_json_string (exp, "id");
  const char *pkg = pg_json_string (exp, "pkg");
  const char *installed = pg_json_string (exp, "installed");

  for (size_t i = 0; i < scan->n_vulns; i++)
    {
      const struct pg_vuln *v = &scan->vulns[i];
      if (strcmp (v->id, id) == 0 && strcmp (v->pkg, pkg) == 0
          && (installed == NULL || (v->installed && strcmp (v->installed, installed) == 0)))
        return v;
    }
  return NULL;
}

static void
expect_vulns (const char *where, json_t *exp, const struct pg_scan *scan)
{
  json_t *e;
  size_t i;

  json_array_foreach (exp, i, e)
    {
      const struct pg_vuln *v = find_vuln (scan, e);
      cleanup_free char *what = NULL;
      xasprintf (&what, "%s: vuln %s/%s", where, pg_json_string (e, "id"), pg_json_string (e, "pkg"));
      if (v == NULL)
        fail_msg ("%s: not found", what);
      expect_str (what, "fixed", json_object_get (e, "fixed"), v->fixed);
      expect_str (what, "remedy", json_object_get (e, "remedy"), v->remedy);
      expect_str (what, "status", json_object_get (e, "status"), v->status);
      expect_time (what, "fix_date", json_object_get (e, "fix_date"), v->fix_date);
      expect_str (what, "fix_date_kind", json_object_get (e, "fix_date_kind"), v->fix_date_kind);
      expect_str (what, "severity", json_object_get (e, "severity"), severity_name (v->severity));
    }
}

static void
expect_packages (const char *where, json_t *exp, const struct pg_scan *scan)
{
  json_t *e;
  size_t i;

  json_array_foreach (exp, i, e)
    {
      const char *name = pg_json_string (e, "name");
      const char *version = pg_json_string (e, "version");
      bool found = false;
      for (size_t k = 0; k < scan->n_packages && !found; k++)
        found
            = strcmp (scan->packages[k].name, name) == 0 && strcmp (scan->packages[k].version, version) == 0;
      if (!found)
        fail_msg ("%s: package %s %s not found", where, name, version);
    }
}

static void
expect_scan (const char *where, json_t *exp, const struct pg_scan *scan)
{
  json_t *sev = json_object_get (exp, "severities");
  size_t fixable = 0, counts[PG_SEV_COUNT] = { 0 };

  expect_str (where, "scanner", json_object_get (exp, "scanner"), scan->scanner);
  expect_str (where, "scanner_version", json_object_get (exp, "scanner_version"), scan->scanner_version);
  expect_str (where, "source", json_object_get (exp, "source"), scan->source);
  expect_time (where, "scanned_at", json_object_get (exp, "scanned_at"), scan->scanned_at);
  expect_time (where, "created", json_object_get (exp, "created"), scan->created);
  expect_str (where, "image_id", json_object_get (exp, "image_id"), scan->image_id);
  expect_str (where, "manifest_digest", json_object_get (exp, "manifest_digest"), scan->manifest_digest);
  expect_strv (where, "repo_digests", json_object_get (exp, "repo_digests"), scan->repo_digests,
               scan->n_repo_digests);
  expect_strv (where, "repo_tags", json_object_get (exp, "repo_tags"), scan->repo_tags, scan->n_repo_tags);
  expect_str (where, "os_family", json_object_get (exp, "os_family"), scan->os_family);
  expect_str (where, "os_name", json_object_get (exp, "os_name"), scan->os_name);
  if (json_object_get (exp, "eosl") && json_is_true (json_object_get (exp, "eosl")) != scan->eosl)
    fail_msg ("%s: eosl: expected %d", where, json_is_true (json_object_get (exp, "eosl")));
  expect_strv (where, "diff_ids", json_object_get (exp, "diff_ids"), scan->diff_ids, scan->n_diff_ids);
  expect_int (where, "n_diff_ids", json_object_get (exp, "n_diff_ids"), (long long) scan->n_diff_ids);
  expect_str (where, "first_diff_id", json_object_get (exp, "first_diff_id"),
              scan->n_diff_ids ? scan->diff_ids[0] : NULL);
  expect_int (where, "n_vulns", json_object_get (exp, "n_vulns"), (long long) scan->n_vulns);
  expect_int (where, "n_packages", json_object_get (exp, "n_packages"), (long long) scan->n_packages);
  for (size_t i = 0; i < scan->n_vulns; i++)
    {
      fixable += scan->vulns[i].fixed != NULL;
      counts[scan->vulns[i].severity]++;
    }
  expect_int (where, "n_fixable", json_object_get (exp, "n_fixable"), (long long) fixable);
  if (sev)
    for (int s = 0; s < PG_SEV_COUNT; s++)
      {
        json_t *want = json_object_get (sev, severity_name (s));
        if ((size_t) (want ? json_integer_value (want) : 0) != counts[s])
          fail_msg ("%s: severity %s: expected %lld, got %zu", where, severity_name (s),
                    want ? (long long) json_integer_value (want) : 0LL, counts[s]);
      }
  expect_vulns (where, json_object_get (exp, "vulns"), scan);
  expect_packages (where, json_object_get (exp, "packages"), scan);
}

/* ---- reports with their entries replaced (entries.json) ---- */

/* The array at PATH ("a/0/b") in DOC, created when the last step is
   missing.  */
static json_t *
doc_at (json_t *doc, const char *path, json_t *value)
{
  cleanup_free char *copy = xstrdup (path);
  char *save = NULL, *step = strtok_r (copy, "/", &save);
  json_t *cur = doc;

  while (step)
    {
      char *next = strtok_r (NULL, "/", &save);
      json_t *parent = cur;
      cur = json_is_array (parent) ? json_array_get (parent, strtoul (step, NULL, 10))
                                   : json_object_get (parent, step);
      if (next == NULL)
        {
          if (json_is_array (parent))
            json_array_set (parent, strtoul (step, NULL, 10), value);
          else
            json_object_set (parent, step, value);
          return value;
        }
      if (cur == NULL)
        fail_msg ("entries.json: no `%s` in the report (path %s)", step, path);
      step = next;
    }
  return NULL;
}

static bool
next_permutation (size_t *p, size_t n)
{
  size_t i, j;
  if (n < 2)
    return false;
  for (i = n - 1; i > 0 && p[i - 1] >= p[i]; i--)
    ;
  if (i == 0)
    return false;
  for (j = n - 1; p[j] <= p[i - 1]; j--)
    ;
  size_t t = p[i - 1];
  p[i - 1] = p[j];
  p[j] = t;
  for (j = n - 1; i < j; i++, j--)
    {
      t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
  return true;
}

static void
run_entries_case (const char *dir, const char *path, json_t *expected, const char *want_error)
{
  cleanup_json json_t *spec = suite_json (dir, "entries.json", true);
  json_t *entries = json_object_get (spec, "entries");
  size_t n = json_array_size (entries), runs = 0;
  cleanup_free size_t *order = xmalloc0 ((n + 1) * sizeof (*order));
  cleanup_free char *buf = NULL;
  size_t len = 0;
  pg_error_t err = NULL;

  if (read_all_file (path, PG_MAX_REPORT_SIZE, &buf, &len, &err) < 0)
    fail_msg ("%s: %s", dir, err->msg);
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  do
    {
      cleanup_json json_t *doc = NULL;
      json_t *list = json_array ();
      struct pg_scan scan = { 0 };
      cleanup_free char *where = NULL;
      cleanup_error pg_error_t perr = NULL;
      int r;

      if (import_parse_json (buf, len, path, false, &doc, NULL, &perr) < 0)
        fail_msg ("%s: %s", dir, perr->msg);
      for (size_t i = 0; i < n; i++)
        json_array_append (list, json_array_get (entries, order[i]));
      doc_at (doc, pg_json_string (spec, "into"), list);
      json_decref (list);
      xasprintf (&where, "%s (entries in the order", dir);
      for (size_t i = 0; i < n; i++)
        {
          char *w = NULL;
          xasprintf (&w, "%s %zu", where, order[i]);
          free (where);
          where = w;
        }
      {
        char *w = NULL;
        xasprintf (&w, "%s)", where);
        free (where);
        where = w;
      }
      r = import_parse_report (doc, "entries", &scan, &perr);
      if (want_error)
        {
          if (r == 0 || strstr (perr->msg, want_error) == NULL)
            fail_msg ("%s: expected an error containing \"%s\", got %s", where, want_error,
                      r == 0 ? "success" : perr->msg);
        }
      else
        {
          if (r < 0)
            fail_msg ("%s: %s", where, perr->msg);
          expect_scan (where, expected, &scan);
        }
      pg_scan_free (&scan);
      runs++;
    }
  while (json_is_true (json_object_get (spec, "every_order")) && next_permutation (order, n));
  if (json_is_true (json_object_get (spec, "every_order")) && n > 1 && runs < 2)
    fail_msg ("%s: every_order ran once", dir);
}

static void
test_import_case (void **state)
{
  const char *dir = *state;
  cleanup_free char *path = NULL;
  cleanup_free char *stdin_file = NULL;
  cleanup_free char *want_error = suite_text (dir, "error");
  cleanup_json json_t *expected = suite_json (dir, "expected.json", want_error == NULL);
  cleanup_error pg_error_t err = NULL;
  struct collected c = { 0 };
  bool tmp_stdin = false;
  int r;

  if (case_has (dir, "input.json"))
    xasprintf (&path, "%s/input.json", dir);
  else if (case_has (dir, "input_ref"))
    {
      cleanup_free char *ref = suite_text (dir, "input_ref");
      path = report_ref (ref);
      if (access (path, R_OK) < 0)
        fail_msg ("%s: the referenced report %s is missing", dir, path);
    }
  else if (case_has (dir, "stdin"))
    {
      path = xstrdup ("-");
      xasprintf (&stdin_file, "%s/stdin", dir);
    }
  else if (case_has (dir, "stdin_refs"))
    {
      path = xstrdup ("-");
      stdin_file = concat_refs (dir);
      tmp_stdin = true;
    }
  else
    fail_msg ("%s: no input", dir);

  if (case_has (dir, "entries.json"))
    {
      run_entries_case (dir, path, expected, want_error);
      return;
    }
  r = read_reports (path, stdin_file, &c, &err);
  if (tmp_stdin)
    unlink (stdin_file);
  if (want_error)
    {
      if (r == 0)
        fail_msg ("%s: expected an error containing \"%s\", got success", dir, want_error);
      if (strstr (err->msg, want_error) == NULL)
        fail_msg ("%s: expected an error containing \"%s\", got \"%s\"", dir, want_error, err->msg);
      assert_int_equal (c.n, json_is_array (expected) ? json_array_size (expected) : c.n);
    }
  else
    {
      if (r < 0)
        fail_msg ("%s: %s", dir, err->msg);
      if (json_is_array (expected))
        {
          json_t *e;
          size_t i;
          if (json_array_size (expected) != c.n)
            fail_msg ("%s: expected %zu reports, got %zu", dir, json_array_size (expected), c.n);
          json_array_foreach (expected, i, e)
            {
              cleanup_free char *where = NULL;
              xasprintf (&where, "%s [%zu]", dir, i);
              expect_scan (where, e, &c.scans[i]);
            }
        }
      else
        {
          if (c.n != 1)
            fail_msg ("%s: expected 1 report, got %zu", dir, c.n);
          expect_scan (dir, expected, &c.scans[0]);
        }
    }
  collected_free (&c);
}

/* ---- directories ---- */

struct tmpdir
{
  char path[64];
};

static void
tmpdir_make (struct tmpdir *t)
{
  snprintf (t->path, sizeof (t->path), "/tmp/patchgate-test-import-XXXXXX");
  if (mkdtemp (t->path) == NULL)
    fail_msg ("mkdtemp: %s", strerror (errno));
}

static char *
tmpdir_file (struct tmpdir *t, const char *name)
{
  char *p;
  xasprintf (&p, "%s/%s", t->path, name);
  return p;
}

static void
tmpdir_link_ref (struct tmpdir *t, const char *name, const char *ref)
{
  cleanup_free char *target = report_ref (ref);
  cleanup_free char *link = tmpdir_file (t, name);
  if (symlink (target, link) < 0)
    fail_msg ("symlink %s: %s", link, strerror (errno));
}

static void
tmpdir_write (struct tmpdir *t, const char *name, const char *text)
{
  cleanup_free char *p = tmpdir_file (t, name);
  FILE *f = fopen (p, "w");
  if (f == NULL || fputs (text, f) < 0 || fclose (f) != 0)
    fail_msg ("write %s", p);
}

static int
remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  remove (path);
  return 0;
}

/* Everything the test put there, links not followed.  */
static void
tmpdir_remove (struct tmpdir *t)
{
  nftw (t->path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
tmpdir_copy_ref (struct tmpdir *t, const char *name, const char *ref)
{
  cleanup_free char *src = report_ref (ref);
  cleanup_free char *buf = NULL;
  size_t len = 0;
  pg_error_t err = NULL;
  if (read_all_file (src, PG_MAX_REPORT_SIZE, &buf, &len, &err) < 0)
    fail_msg ("%s", err->msg);
  tmpdir_write (t, name, buf);
}

static void
tmpdir_mkdir (struct tmpdir *t, const char *name)
{
  cleanup_free char *p = tmpdir_file (t, name);
  if (mkdir (p, 0700) < 0)
    fail_msg ("mkdir %s: %s", p, strerror (errno));
}

/* Setup and teardown, so that a failing test still removes its files.  */
static int
tmpdir_setup (void **state)
{
  struct tmpdir *t = xmalloc0 (sizeof (*t));
  tmpdir_make (t);
  *state = t;
  return 0;
}

static int
tmpdir_teardown (void **state)
{
  tmpdir_remove (*state);
  free (*state);
  return 0;
}

static void
test_directory (void **state)
{
  struct tmpdir *t = *state;
  struct collected c = { 0 };
  cleanup_error pg_error_t err = NULL;
  static const char *const want[] = { "/a-grype.json", "/b-trivy.json", "/img1/sub/trivy-results.json",
                                      "/img1/trivy-results.json", "/img2/grype-results.json" };
  int r;

  tmpdir_copy_ref (t, "b-trivy.json", "trivy/clamav-alpine.json");
  tmpdir_copy_ref (t, "a-grype.json", "grype/clamav-alpine.json");
  tmpdir_write (t, "notes.txt", "not a report\n");
  tmpdir_write (t, ".hidden.json", "{ broken");
  tmpdir_mkdir (t, "img2");
  tmpdir_copy_ref (t, "img2/grype-results.json", "grype/fix_not_available.json");
  tmpdir_mkdir (t, "img1");
  tmpdir_copy_ref (t, "img1/trivy-results.json", "trivy/rockylinux-8.json");
  tmpdir_mkdir (t, "img1/sub");
  tmpdir_copy_ref (t, "img1/sub/trivy-results.json", "trivy/nginx-debian12.json");
  tmpdir_mkdir (t, ".git");
  tmpdir_write (t, ".git/x.json", "{ broken");
  /* Links are not followed, whether they point out of the tree or in.  */
  tmpdir_link_ref (t, "c-outside.json", "trivy/all_statuses.json");
  {
    cleanup_free char *link = tmpdir_file (t, "d-inside.json");
    if (symlink ("a-grype.json", link) < 0)
      fail_msg ("symlink: %s", strerror (errno));
  }
  r = read_reports (t->path, NULL, &c, &err);
  if (r < 0)
    fail_msg ("%s", err->msg);
  /* Depth first, each level in name order: "img1/sub" < "img1/trivy-..." .  */
  assert_int_equal (c.n, sizeof (want) / sizeof (want[0]));
  for (size_t i = 0; i < c.n; i++)
    if (strstr (c.scans[i].source, want[i]) == NULL
        || strncmp (c.scans[i].source, t->path, strlen (t->path)) != 0)
      fail_msg ("report %zu: %s, expected %s%s", i, c.scans[i].source, t->path, want[i]);
  collected_free (&c);

  /* A report that fails inside a directory is named by its own path.  */
  tmpdir_write (t, "img2/c-bad.json", "[1]");
  r = read_reports (t->path, NULL, &c, &err);
  assert_int_equal (r, -1);
  assert_non_null (strstr (err->msg, "/img2/c-bad.json: unknown report format"));
  collected_free (&c);
}

static void
test_directory_empty (void **state)
{
  struct tmpdir *t = *state;
  struct collected c = { 0 };
  cleanup_error pg_error_t err = NULL;

  tmpdir_write (t, "README", "nothing here\n");
  assert_int_equal (read_reports (t->path, NULL, &c, &err), -1);
  assert_non_null (strstr (err->msg, "no *.json report"));
}

static void
test_missing_file (void **state)
{
  struct collected c = { 0 };
  cleanup_error pg_error_t err = NULL;

  assert_int_equal (read_reports ("/nonexistent/report.json", NULL, &c, &err), -1);
  assert_non_null (strstr (err->msg, "/nonexistent/report.json"));
}

static void
test_fixed_versions (void **state)
{
  const char *one[] = { " 1.2-3 ,1.2-4,, " };
  const char *many[] = { "a", "", " b, c " };
  const char *none[] = { " , ", "" };
  cleanup_free char *a = import_fixed_versions (one, 1);
  cleanup_free char *b = import_fixed_versions (many, 3);
  cleanup_free char *c = import_fixed_versions (none, 2);

  assert_string_equal (a, "1.2-3, 1.2-4");
  assert_string_equal (b, "a, b, c");
  assert_null (c);
  assert_true (import_is_repo_digest ("registry.example.com:5000/a/b@sha256:"
                                      "0000000000000000000000000000000000000000000000000000000000000000"));
  assert_false (import_is_repo_digest ("REDACTED"));
  assert_false (
      import_is_repo_digest ("@sha256:0000000000000000000000000000000000000000000000000000000000000000"));
  assert_false (import_is_repo_digest ("a@sha256:00"));
}

/* ---- the store ---- */

static pg_store *
open_db (struct tmpdir *t)
{
  cleanup_free char *db = tmpdir_file (t, "policy.db");
  pg_error_t err = NULL;
  pg_store *store = NULL;
  if (store_open (db, PG_STORE_CREATE, &store, &err) < 0)
    fail_msg ("store_open: %s", err->msg);
  return store;
}

static int
import_refs (pg_store *store, const char *const *refs, size_t n, struct import_stats *st, pg_error_t *err)
{
  char **paths = xmalloc0 (n * sizeof (char *));
  int r;
  for (size_t i = 0; i < n; i++)
    paths[i] = strncmp (refs[i], "/", 1) == 0 ? xstrdup (refs[i]) : report_ref (refs[i]);
  r = import_paths (store, paths, n, 1767225600 /* 2026-01-01 */, st, err);
  strv_free (paths, n);
  return r;
}

static void
lookup (pg_store *store, const char *digest, struct pg_image_record *rec)
{
  pg_error_t err = NULL;
  int r = store_lookup_digest (store, digest, rec, &err);
  if (r < 0)
    fail_msg ("lookup %s: %s", digest, err->msg);
  if (r == 0)
    fail_msg ("lookup %s: not found", digest);
}

static const struct pg_vuln *
record_vuln (const struct pg_image_record *rec, const char *id, const char *pkg)
{
  for (size_t i = 0; i < rec->n_vulns; i++)
    if (strcmp (rec->vulns[i].id, id) == 0 && strcmp (rec->vulns[i].pkg, pkg) == 0)
      return &rec->vulns[i];
  fail_msg ("%s/%s not in the record", id, pkg);
  return NULL;
}

static void
test_store_round_trip (void **state)
{
  static const char *const refs[]
      = { "trivy/nginx-debian12.json", "grype/nginx-debian12.json", "trivy/rockylinux-8.json" };
  static const char *const again[] = { "trivy/nginx-debian12.json" };
  struct tmpdir *t = *state;
  cleanup_store pg_store *store = NULL;
  cleanup_error pg_error_t err = NULL;
  struct import_stats st = { 0 };
  struct pg_image_record by_id, by_manifest, by_repo, by_hex, rocky;
  const struct pg_vuln *v;

  store = open_db (t);
  if (import_refs (store, refs, 3, &st, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (st.reports, 3);
  assert_int_equal (st.scans_added, 3);
  assert_int_equal (st.scans_present, 0);
  assert_int_equal (st.vulns, 45 + 135 + 1);

  /* Trivy and Grype scanned the same nginx image: one record, reachable by
     its image ID, Grype's manifest digest and the repo digest both give.  */
  lookup (store, "sha256:be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1", &by_id);
  lookup (store, "sha256:88fd35a248a561e1bff5add8ff4825bec00a9af65c83aa28b9a51f9e11c9cd6f", &by_manifest);
  lookup (store, "sha256:fb39280b7b9eba5727c884a3c7810002e69e8f961cc373b89c92f14961d903a0", &by_repo);
  lookup (store, "be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1", &by_hex);
  assert_int_equal (by_id.rowid, by_manifest.rowid);
  assert_int_equal (by_id.rowid, by_repo.rowid);
  assert_int_equal (by_id.rowid, by_hex.rowid);
  assert_true (by_id.has_scan);
  /* The newest scan is Grype's (seven seconds after Trivy's).  */
  assert_string_equal (by_id.scanner, "grype");
  /* The store merges the newest scan of each scanner; whatever it merges,
     every finding of the newest scan is there, with its fix.  */
  assert_true (by_id.n_vulns >= 135);
  assert_true (by_id.n_packages >= 52);
  v = record_vuln (&by_id, "CVE-2025-48174", "libavif15");
  assert_string_equal (v->fixed, "0.11.1-1+deb12u1");
  /* Trivy saw that fix first, seven seconds before Grype.  */
  assert_int_equal (v->fix_known_since, 1749400765);
  v = record_vuln (&by_id, "CVE-2024-56433", "login");
  assert_string_equal (v->installed, "1:4.13+dfsg1-1+deb12u1");
  assert_null (v->fixed);
  assert_int_equal (by_id.n_diff_ids, 7);
  assert_string_equal (by_id.diff_ids[0],
                       "sha256:ace34d1d784c01e3f9d156687089e8f58f786e23ccd097bdbbf337d6d28b3783");
  assert_string_equal (by_id.manifest_digest,
                       "sha256:88fd35a248a561e1bff5add8ff4825bec00a9af65c83aa28b9a51f9e11c9cd6f");
  assert_string_equal (by_id.os_family, "debian");

  lookup (store, "sha256:210996f98b856d7cd00496ddbe9412e73f1c714c95de09661e07b4e43648f9ab", &rocky);
  assert_true (rocky.rowid != by_id.rowid);
  assert_string_equal (rocky.os_family, "rocky");
  assert_int_equal (rocky.n_vulns, 1);
  assert_string_equal (rocky.vulns[0].installed, "1:1.1.1k-4.el8");
  assert_string_equal (rocky.vulns[0].fixed, "1:1.1.1k-5.el8_5");

  pg_image_record_free (&by_id);
  pg_image_record_free (&by_manifest);
  pg_image_record_free (&by_repo);
  pg_image_record_free (&by_hex);
  pg_image_record_free (&rocky);

  /* Importing it again records nothing new.  */
  if (import_refs (store, again, 1, &st, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (st.reports, 1);
  assert_int_equal (st.scans_added, 0);
  assert_int_equal (st.scans_present, 1);
  assert_int_equal (st.vulns, 0);

  store_close (store);
  store = NULL;
}

static void
expect_counts (pg_store *store, int64_t images, int64_t scans, int64_t vulns)
{
  struct pg_store_status s;
  pg_error_t err = NULL;
  if (store_status (store, &s, &err) < 0)
    fail_msg ("store_status: %s", err->msg);
  assert_int_equal (s.images, images);
  assert_int_equal (s.scans, scans);
  assert_int_equal (s.vulns, vulns);
}

static void
test_store_failed_batch (void **state)
{
  static const char *const first[] = { "trivy/clamav-alpine.json" };
  static const char *const legacy[] = { "grype/nginx-debian12.json", "trivy/legacy_many_vulns.json" };
  struct tmpdir *t = *state;
  cleanup_store pg_store *store = NULL;
  cleanup_error pg_error_t err = NULL;
  cleanup_free char *truncated = NULL;
  struct import_stats st = { 0 };
  struct pg_image_record rec;
  const char *batch[3];

  store = open_db (t);
  if (import_refs (store, first, 1, &st, &err) < 0)
    fail_msg ("%s", err->msg);
  expect_counts (store, 1, 1, 0);

  /* A bad report after a good one: the good one is not kept either.  */
  assert_int_equal (import_refs (store, legacy, 2, &st, &err), -1);
  assert_non_null (strstr (err->msg, "legacy_many_vulns.json: legacy pre-SchemaVersion Trivy output"));
  expect_counts (store, 1, 1, 0);
  pg_error_release (&err);

  /* The same when the bad report comes last and is not even JSON.  */
  truncated = tmpdir_file (t, "truncated.json");
  tmpdir_write (t, "truncated.json", "{\"SchemaVersion\": 2, \"Results\": [");
  batch[0] = "grype/clamav-alpine.json";
  batch[1] = "grype/nginx-debian12.json";
  batch[2] = truncated;
  assert_int_equal (import_refs (store, batch, 3, &st, &err), -1);
  assert_non_null (strstr (err->msg, "truncated.json: invalid JSON"));
  expect_counts (store, 1, 1, 0);
  assert_int_equal (
      store_lookup_digest (store, "sha256:be69f2940aaf64fdf50c9c99420cbd57e10ee655ec7204df1c407e9af63d0cc1",
                           &rec, &err),
      0);

  /* And the store is still usable for the next import.  */
  if (import_refs (store, batch, 2, &st, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (st.scans_added, 2);
  expect_counts (store, 2, 3, 9 + 135);

  store_close (store);
  store = NULL;
}

static void
record_progress (const struct import_progress *p, void *data)
{
  json_t *log = data;
  json_array_append_new (log, json_pack ("{s:I, s:I, s:I, s:s}", "done", (json_int_t) p->done, "total",
                                         (json_int_t) p->total, "failed", (json_int_t) p->failed, "source",
                                         p->source));
}

/* --keep-going: every good report recorded in its own transaction, every
   bad one listed with its reason; without it, nothing.  */
static void
test_keep_going (void **state)
{
  struct tmpdir *t = *state;
  cleanup_store pg_store *store = NULL;
  cleanup_error pg_error_t err = NULL;
  cleanup_json json_t *log = json_array ();
  struct import_opts opts = { .keep_going = true, .progress = record_progress, .progress_data = log };
  struct import_result res;
  char *paths[2];

  tmpdir_mkdir (t, "reports");
  tmpdir_mkdir (t, "reports/nginx");
  tmpdir_copy_ref (t, "reports/nginx/trivy-results.json", "trivy/nginx-debian12.json");
  tmpdir_copy_ref (t, "reports/nginx/grype-results.json", "grype/nginx-debian12.json");
  tmpdir_mkdir (t, "reports/legacy");
  tmpdir_copy_ref (t, "reports/legacy/trivy-results.json", "trivy/legacy_many_vulns.json");
  tmpdir_mkdir (t, "reports/clamav");
  tmpdir_copy_ref (t, "reports/clamav/grype-results.json", "grype/clamav-alpine.json");
  tmpdir_write (t, "reports/clamav/trivy-results.json", "{\"SchemaVersion\": 2, \"Results\": [");
  tmpdir_link_ref (t, "reports/rocky.json", "trivy/rockylinux-8.json");
  paths[0] = tmpdir_file (t, "reports");
  paths[1] = tmpdir_file (t, "missing.json");
  store = open_db (t);

  /* Without --keep-going: a missing path fails before anything is read,
     and the first bad report stops it all.  */
  assert_int_equal (import_run (store, paths, 2, 1767225600, NULL, &res, &err), -1);
  assert_non_null (strstr (err->msg, "missing.json"));
  import_result_free (&res);
  pg_error_release (&err);
  assert_int_equal (import_run (store, paths, 1, 1767225600, NULL, &res, &err), -1);
  assert_non_null (strstr (err->msg, "reports/clamav/trivy-results.json: invalid JSON"));
  assert_int_equal (res.n_skipped, 1);
  import_result_free (&res);
  pg_error_release (&err);
  expect_counts (store, 0, 0, 0);

  if (import_run (store, paths, 2, 1767225600, &opts, &res, &err) < 0)
    fail_msg ("%s", err->msg);
  /* clamav/grype, nginx/grype and nginx/trivy (one image), in that order.  */
  assert_int_equal (res.stats.reports, 3);
  assert_int_equal (res.stats.images, 2);
  assert_int_equal (res.stats.scans_added, 3);
  assert_int_equal (res.stats.vulns, 9 + 135 + 45);
  assert_int_equal (res.stats.failed, 3);
  assert_int_equal (res.n_failures, 3);
  assert_non_null (strstr (res.failures[0].source, "reports/clamav/trivy-results.json"));
  assert_non_null (strstr (res.failures[0].reason, "invalid JSON"));
  assert_non_null (strstr (res.failures[1].source, "reports/legacy/trivy-results.json"));
  assert_non_null (strstr (res.failures[1].reason, "legacy pre-SchemaVersion Trivy output"));
  assert_non_null (strstr (res.failures[2].source, "missing.json"));
  assert_int_equal (res.n_skipped, 1);
  assert_non_null (strstr (res.skipped[0].source, "reports/rocky.json"));
  assert_non_null (strstr (res.skipped[0].reason, "symlink"));
  expect_counts (store, 2, 3, 9 + 135 + 45);
  /* Progress after every report, good or bad, out of the six.  */
  assert_int_equal (json_array_size (log), 6);
  assert_int_equal (json_integer_value (json_object_get (json_array_get (log, 5), "done")), 6);
  assert_int_equal (json_integer_value (json_object_get (json_array_get (log, 5), "total")), 6);
  assert_int_equal (json_integer_value (json_object_get (json_array_get (log, 5), "failed")), 3);
  import_result_free (&res);
  free (paths[0]);
  free (paths[1]);
  store_close (store);
  store = NULL;
}

int
main (void)
{
  cleanup_free char *root = suite_path ("tests/unit/data/import");
  static const struct CMUnitTest fixed[] = {
    cmocka_unit_test (test_fixed_versions),
    cmocka_unit_test_setup_teardown (test_directory, tmpdir_setup, tmpdir_teardown),
    cmocka_unit_test_setup_teardown (test_directory_empty, tmpdir_setup, tmpdir_teardown),
    cmocka_unit_test (test_missing_file),
    cmocka_unit_test_setup_teardown (test_store_round_trip, tmpdir_setup, tmpdir_teardown),
    cmocka_unit_test_setup_teardown (test_store_failed_batch, tmpdir_setup, tmpdir_teardown),
    cmocka_unit_test_setup_teardown (test_keep_going, tmpdir_setup, tmpdir_teardown),
  };
  size_t n = 0, nfixed = sizeof (fixed) / sizeof (fixed[0]);
  char **cases = suite_cases (root, &n);
  struct CMUnitTest *tests = xmalloc0 ((n + nfixed) * sizeof (*tests));
  int ret;

  for (size_t i = 0; i < n; i++)
    {
      char *dir;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      tests[i] = (struct CMUnitTest){ .name = cases[i], .test_func = test_import_case, .initial_state = dir };
    }
  for (size_t i = 0; i < nfixed; i++)
    tests[n + i] = fixed[i];
  ret = _cmocka_run_group_tests ("import", tests, n + nfixed, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
