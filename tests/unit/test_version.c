/* Unit test of policy/version*.c: the vectors of dpkg's, rpm's and
   apk-tools' own test suites, read from data files, plus distro mapping,
   malformed versions and very long ones.

   Data files (tests/unit/data/versions/{dpkg,rpm}.data and apk-tools'
   version.data in ../shared/testdata/versions/, all relative to
   $PATCHGATE_SRC or the current directory) hold one item a line:
     A OP B     OP is <, = or > (apk's fuzzy ~ <~ >~ !~ are skipped)
     VERSION    must be accepted
     !VERSION   must be refused ("!" alone is the empty string)
   '#' at the start of a line or after whitespace starts a comment.  */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/util.h"
#include "version/version.h"

struct data_stats
{
  const char *file;
  int compared;
  int apk_invalid_ordered; /* apk lines with an invalid side, ordered as apk does */
  int skipped;             /* fuzzy apk operators */
  int accepted;
  int refused;
  int failures;
  char **valid; /* every accepted version, for the total-order check */
  size_t n_valid;
};

static char *
data_path (const char *rel)
{
  const char *src = getenv ("PATCHGATE_SRC");
  char *path = NULL;

  xasprintf (&path, "%s/%s", src && *src ? src : ".", rel);
  return path;
}

static const char *
sign_str (int r)
{
  return r < 0 ? "<" : r > 0 ? ">" : "=";
}

static void mismatch (struct data_stats *st, size_t lineno, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
mismatch (struct data_stats *st, size_t lineno, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  print_error ("%s:%zu: %s\n", st->file, lineno, msg ? msg : "(out of memory)");
  free (msg);
  st->failures++;
}

static void
remember_valid (struct data_stats *st, const char *v)
{
  size_t i;

  for (i = 0; i < st->n_valid; i++)
    if (strcmp (st->valid[i], v) == 0)
      return;
  st->valid = xrealloc (st->valid, (st->n_valid + 1) * sizeof (char *));
  st->valid[st->n_valid++] = xstrdup (v);
}

static bool
is_valid (enum pg_version_scheme scheme, const char *v)
{
  cleanup_error pg_error_t err = NULL;
  int r;

  return version_compare (scheme, v, v, &r, &err) == 0;
}

static void
check_comparison (enum pg_version_scheme scheme, struct data_stats *st, size_t lineno, const char *a,
                  const char *op, const char *b)
{
  cleanup_error pg_error_t err = NULL;
  int want = op[0] == '<' ? -1 : op[0] == '>' ? 1 : 0;
  int got = 0, back = 0;

  if (version_compare (scheme, a, b, &got, &err) == 0)
    {
      st->compared++;
      if (got != want)
        mismatch (st, lineno, "%s %s %s: got %s", a, op, b, sign_str (got));
      else if (version_compare (scheme, b, a, &back, &err) < 0 || back != -want)
        mismatch (st, lineno, "%s %s %s: but the reverse comparison gave %s", a, op, b, sign_str (back));
      remember_valid (st, a);
      remember_valid (st, b);
      return;
    }

  /* apk-tools orders invalid versions by its token walk, and its data has
     two such lines; version_compare refuses them.  Check both halves.  */
  if (scheme == PG_VERSION_APK && (!is_valid (scheme, a) || !is_valid (scheme, b)))
    {
      int r = version_apk_order (a, b);
      got = (r > 0) - (r < 0);
      st->apk_invalid_ordered++;
      if (got != want)
        mismatch (st, lineno, "%s %s %s: apk order of invalid versions gave %s", a, op, b, sign_str (got));
      return;
    }
  mismatch (st, lineno, "%s %s %s: refused: %s", a, op, b, err ? err->msg : "?");
}

static void
check_validity (enum pg_version_scheme scheme, struct data_stats *st, size_t lineno, const char *item)
{
  cleanup_error pg_error_t err = NULL;
  bool want_valid = item[0] != '!';
  const char *v = want_valid ? item : item + 1;
  int r;

  if (version_compare (scheme, v, v, &r, &err) == 0)
    {
      if (!want_valid)
        mismatch (st, lineno, "'%s' was accepted, expected it refused", v);
      else if (r != 0)
        mismatch (st, lineno, "'%s' does not equal itself", v);
      else
        {
          st->accepted++;
          remember_valid (st, v);
        }
      return;
    }
  if (want_valid)
    mismatch (st, lineno, "'%s' was refused: %s", v, err->msg);
  else if (err == NULL || err->msg == NULL || strstr (err->msg, version_scheme_name (scheme)) == NULL)
    mismatch (st, lineno, "'%s': error message does not name the scheme", v);
  else
    st->refused++;
}

/* Cut the comment and surrounding blanks off LINE, in place.  */
static char *
strip_line (char *line)
{
  char *p, *end;

  for (p = line; *p; p++)
    if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t'))
      {
        *p = '\0';
        break;
      }
  while (*line == ' ' || *line == '\t')
    line++;
  end = line + strlen (line);
  while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
    *--end = '\0';
  return line;
}

static void
run_line (enum pg_version_scheme scheme, struct data_stats *st, size_t lineno, char *line)
{
  char *fields[4];
  size_t n = 0;
  char *save = NULL, *tok;

  for (tok = strtok_r (line, " \t", &save); tok && n < 4; tok = strtok_r (NULL, " \t", &save))
    fields[n++] = tok;

  if (n == 1)
    check_validity (scheme, st, lineno, fields[0]);
  else if (n == 3 && strlen (fields[1]) == 1 && strchr ("<=>", fields[1][0]))
    check_comparison (scheme, st, lineno, fields[0], fields[1], fields[2]);
  else if (n == 3 && strchr (fields[1], '~') != NULL && scheme == PG_VERSION_APK)
    st->skipped++; /* apk's fuzzy match (~, <~, >~, !~): not an ordering */
  else
    mismatch (st, lineno, "cannot parse this line");
}

/* Every accepted version of the file, sorted with the comparison, must be
   totally ordered: no pair contradicts the sorted order.  */
static enum pg_version_scheme sort_scheme;

static int
cmp_sorted (const void *a, const void *b)
{
  cleanup_error pg_error_t err = NULL;
  int r = 0;

  if (version_compare (sort_scheme, *(char *const *) a, *(char *const *) b, &r, &err) < 0)
    fail_msg ("refused while sorting: %s", err->msg);
  return r;
}

static void
check_total_order (enum pg_version_scheme scheme, struct data_stats *st)
{
  size_t i, j;

  sort_scheme = scheme;
  qsort (st->valid, st->n_valid, sizeof (char *), cmp_sorted);
  for (i = 0; i < st->n_valid; i++)
    for (j = i + 1; j < st->n_valid; j++)
      {
        cleanup_error pg_error_t err = NULL;
        int r = 0, back = 0;

        if (version_compare (scheme, st->valid[i], st->valid[j], &r, &err) < 0
            || version_compare (scheme, st->valid[j], st->valid[i], &back, &err) < 0)
          {
            mismatch (st, 0, "'%s' and '%s' both valid, yet not comparable: %s", st->valid[i], st->valid[j],
                      err ? err->msg : "?");
            continue;
          }
        if (r > 0 || back != -r)
          mismatch (st, 0, "not a total order: '%s' %s '%s' (reverse %s) after sorting", st->valid[i],
                    sign_str (r), st->valid[j], sign_str (back));
      }
}

static void
run_data_file (enum pg_version_scheme scheme, const char *rel)
{
  cleanup_free char *path = data_path (rel);
  cleanup_file FILE *f = fopen (path, "r");
  cleanup_free char *line = NULL;
  struct data_stats st = { .file = rel };
  size_t cap = 0, lineno = 0, i;

  if (f == NULL)
    fail_msg ("cannot open %s (set PATCHGATE_SRC to the repository root)", path);

  while (getline (&line, &cap, f) >= 0)
    {
      char *item = strip_line (line);
      lineno++;
      if (*item == '\0')
        continue;
      run_line (scheme, &st, lineno, item);
    }
  check_total_order (scheme, &st);

  print_message ("# %s (%s): %d comparisons, %d invalid-version orderings, %d fuzzy skipped, "
                 "%d accepted, %d refused, %zu distinct valid versions totally ordered\n",
                 rel, version_scheme_name (scheme), st.compared, st.apk_invalid_ordered, st.skipped,
                 st.accepted, st.refused, st.n_valid);
  for (i = 0; i < st.n_valid; i++)
    free (st.valid[i]);
  free (st.valid);

  if (st.compared == 0)
    fail_msg ("%s: no comparison found", rel);
  if (st.failures)
    fail_msg ("%s: %d mismatching lines (listed above)", rel, st.failures);
}

static void
test_dpkg_vectors (void **state)
{
  run_data_file (PG_VERSION_DPKG, "tests/unit/data/versions/dpkg.data");
}

static void
test_rpm_vectors (void **state)
{
  run_data_file (PG_VERSION_RPM, "tests/unit/data/versions/rpm.data");
}

static void
test_apk_vectors (void **state)
{
  run_data_file (PG_VERSION_APK, "../shared/testdata/versions/apk-version.data");
}

static int
cmp (enum pg_version_scheme scheme, const char *a, const char *b)
{
  cleanup_error pg_error_t err = NULL;
  int r = 42;

  if (version_compare (scheme, a, b, &r, &err) < 0)
    fail_msg ("%s: '%s' vs '%s' refused: %s", version_scheme_name (scheme), a, b, err->msg);
  return r;
}

/* The error for a malformed version, which must exist; caller frees.  */
static char *
refusal (enum pg_version_scheme scheme, const char *a, const char *b)
{
  pg_error_t err = NULL;
  int r = 42;
  char *msg;

  if (version_compare (scheme, a, b, &r, &err) == 0)
    fail_msg ("%s: '%s' vs '%s' accepted (%d), expected a refusal", version_scheme_name (scheme), a, b, r);
  assert_non_null (err);
  assert_int_equal (r, 42); /* the result is left alone */
  msg = xstrdup (err->msg);
  pg_error_release (&err);
  return msg;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    fail_msg ("'%s' does not contain '%s'", haystack, needle);
}

static void
test_malformed (void **state)
{
  char *m;

  /* Blanks: dpkg trims leading and trailing ones, refuses embedded ones.  */
  assert_int_equal (cmp (PG_VERSION_DPKG, " \t1:1.0-1 \t", "1:1.0-1"), 0);
  m = refusal (PG_VERSION_DPKG, "1.0 1", "1.0");
  assert_contains (m, "invalid dpkg version '1.0 1'");
  assert_contains (m, "embedded spaces");
  free (m);
  m = refusal (PG_VERSION_DPKG, "1.0", "0:0 0-1");
  assert_contains (m, "'0:0 0-1'");
  free (m);
  m = refusal (PG_VERSION_DPKG, "  ", "1.0");
  assert_contains (m, "empty");
  free (m);
  m = refusal (PG_VERSION_DPKG, "10a:5.2", "1");
  assert_contains (m, "epoch");
  free (m);
  m = refusal (PG_VERSION_DPKG, "5.2@3-2", "1");
  assert_contains (m, "invalid character '@'");
  free (m);

  /* Unprintable bytes are escaped in the message.  */
  m = refusal (PG_VERSION_DPKG, "1.0\n2", "1");
  assert_contains (m, "'1.0\\x0a2'");
  free (m);
  m = refusal (PG_VERSION_RPM, "1.0\x1b[31m", "1");
  assert_contains (m, "1.0\\x1b[31m");
  free (m);

  m = refusal (PG_VERSION_RPM, "1.0 1", "1");
  assert_contains (m, "invalid rpm version '1.0 1'");
  free (m);
  m = refusal (PG_VERSION_RPM, "1", "");
  assert_contains (m, "empty");
  free (m);
  m = refusal (PG_VERSION_RPM, "a:1.0", "1");
  assert_contains (m, "epoch");
  free (m);
  m = refusal (PG_VERSION_RPM, "1.0-", "1");
  assert_contains (m, "release is empty");
  free (m);

  m = refusal (PG_VERSION_APK, "1.0-1", "1");
  assert_contains (m, "invalid apk version '1.0-1'");
  assert_contains (m, "offset 3");
  free (m);
  m = refusal (PG_VERSION_APK, "1.0", "1.0_foo");
  assert_contains (m, "'1.0_foo'");
  free (m);
  m = refusal (PG_VERSION_APK, "1.0bc", "1.0");
  free (m);

  /* Missing versions and unknown schemes are errors, not crashes.  */
  m = refusal (PG_VERSION_DPKG, NULL, "1");
  free (m);
  m = refusal (PG_VERSION_RPM, "1", NULL);
  free (m);
  m = refusal ((enum pg_version_scheme) 42, "1", "1");
  assert_contains (m, "scheme");
  free (m);

  /* A very long malformed version is cut in the message.  */
  {
    char longv[4096];
    memset (longv, 'x', sizeof (longv) - 1);
    longv[sizeof (longv) - 1] = '\0';
    longv[0] = '1';
    longv[1] = ' ';
    m = refusal (PG_VERSION_DPKG, longv, "1");
    assert_true (strlen (m) < 400);
    assert_contains (m, "...");
    free (m);
  }
}

/* "1." followed by N nines against "1." followed by 1 and N zeros, with
   leading zeros on top: digit runs far past 64 bits.  */
static void
test_long_digit_runs (void **state)
{
  const size_t n = 5000;
  char *small = xmalloc0 (n + 3), *big = xmalloc0 (n + 4), *padded = xmalloc0 (2 * n + 4);
  enum pg_version_scheme s;

  memcpy (small, "1.", 2);
  memset (small + 2, '9', n);
  memcpy (big, "1.1", 3);
  memset (big + 3, '0', n);
  memcpy (padded, "1.", 2);
  memset (padded + 2, '0', n);
  padded[n + 2] = '1';
  memset (padded + n + 3, '0', n);

  for (s = PG_VERSION_DPKG; s <= PG_VERSION_APK; s++)
    {
      assert_int_equal (cmp (s, small, big), -1);
      assert_int_equal (cmp (s, big, small), 1);
      assert_int_equal (cmp (s, big, big), 0);
    }
  /* Leading zeros: dpkg and rpm ignore them; apk compares a dotted
     component with a leading zero as a string ("0..." < "1...").  */
  assert_int_equal (cmp (PG_VERSION_DPKG, padded, big), 0);
  assert_int_equal (cmp (PG_VERSION_RPM, padded, big), 0);
  assert_int_equal (cmp (PG_VERSION_APK, padded, big), -1);

  /* An apk revision or the first number of any length compares as a
     number.  */
  assert_int_equal (cmp (PG_VERSION_APK, "1-r99999999999999999999999999", "1-r100000000000000000000000000"),
                    -1);
  assert_int_equal (cmp (PG_VERSION_APK, "000099999999999999999999999999", "99999999999999999999999999"), 0);
  /* rpm and dpkg epochs.  */
  assert_int_equal (cmp (PG_VERSION_RPM, "99999999999999999999999:1", "100000000000000000000000:0"), -1);
  assert_int_equal (cmp (PG_VERSION_DPKG, "2147483647:0", "2147483646:99"), 1);

  free (small);
  free (big);
  free (padded);
}

static void
test_examples (void **state)
{
  /* The versions the design document and policies use.  */
  assert_int_equal (cmp (PG_VERSION_DPKG, "7.88.1-10+deb12u4", "7.88.1-10+deb12u5"), -1);
  assert_int_equal (cmp (PG_VERSION_DPKG, "1:1.2.13.dfsg-1", "1.2.13.dfsg-3"), 1);
  assert_int_equal (cmp (PG_VERSION_DPKG, "1.27.5-1~bookworm", "1.27.5-1"), -1);
  assert_int_equal (cmp (PG_VERSION_RPM, "1:1.1.1k-4.el8", "1:1.1.1k-5.el8_5"), -1);
  assert_int_equal (cmp (PG_VERSION_RPM, "1.0", "1.0-1"), -1);
  assert_int_equal (cmp (PG_VERSION_RPM, "0:1.0-1", "1.0-1"), 0);
  assert_int_equal (cmp (PG_VERSION_APK, "3.1.4-r5", "3.1.4-r6"), -1);
  assert_int_equal (cmp (PG_VERSION_APK, "1.0_rc1", "1.0"), -1);
  assert_int_equal (cmp (PG_VERSION_APK, "1.0_p1", "1.0"), 1);
  /* Where the kinds first differ, the earlier kind in the grammar wins: a
     commit hash comes before the revision, so it is the newer side.  */
  assert_int_equal (cmp (PG_VERSION_APK, "1.0~abc", "1.0-r1"), 1);
  assert_int_equal (cmp (PG_VERSION_APK, "1.0~abc-r1", "1.0~abc"), 1);
}

static void
test_scheme_names (void **state)
{
  static const char *const names[] = { "dpkg", "rpm", "apk" };
  enum pg_version_scheme s;
  size_t i;

  for (i = 0; i < 3; i++)
    {
      cleanup_error pg_error_t err = NULL;
      assert_int_equal (version_scheme_parse (names[i], &s, &err), 0);
      assert_string_equal (version_scheme_name (s), names[i]);
    }
  assert_string_equal (version_scheme_name (PG_VERSION_DPKG), "dpkg");
  assert_string_equal (version_scheme_name ((enum pg_version_scheme) 42), "unknown");

  {
    cleanup_error pg_error_t err = NULL;
    assert_int_equal (version_scheme_parse ("deb", &s, &err), -1);
    assert_contains (err->msg, "'deb'");
  }
  {
    cleanup_error pg_error_t err = NULL;
    assert_int_equal (version_scheme_parse (NULL, &s, &err), -1);
  }
}

static void
test_distro_schemes (void **state)
{
  static const struct
  {
    const char *family;
    enum pg_version_scheme scheme;
  } cases[] = {
    { "debian", PG_VERSION_DPKG },
    { "ubuntu", PG_VERSION_DPKG },
    { "Debian", PG_VERSION_DPKG },
    { "UBUNTU", PG_VERSION_DPKG },
    { "alpine", PG_VERSION_APK },
    { "wolfi", PG_VERSION_APK },
    { "chainguard", PG_VERSION_APK },
    { "Alpine", PG_VERSION_APK },
    { "rhel", PG_VERSION_RPM },
    { "redhat", PG_VERSION_RPM },
    { "centos", PG_VERSION_RPM },
    { "rocky", PG_VERSION_RPM },
    { "alma", PG_VERSION_RPM },
    { "almalinux", PG_VERSION_RPM },
    { "fedora", PG_VERSION_RPM },
    { "amazon", PG_VERSION_RPM },
    { "oracle", PG_VERSION_RPM },
    { "ol", PG_VERSION_RPM },
    { "photon", PG_VERSION_RPM },
    { "suse", PG_VERSION_RPM },
    { "sles", PG_VERSION_RPM },
    { "opensuse", PG_VERSION_RPM },
    { "opensuse-leap", PG_VERSION_RPM },
    { "opensuse.leap", PG_VERSION_RPM },
    { "opensuse.tumbleweed", PG_VERSION_RPM },
    { "openSUSE-Leap", PG_VERSION_RPM },
    { "sle_micro", PG_VERSION_RPM },
    { "azurelinux", PG_VERSION_RPM },
    { "cbl-mariner", PG_VERSION_RPM },
    { "RHEL", PG_VERSION_RPM },
  };
  static const char *const unknown[] = { "gentoo", "arch", "", "debian ", "deb", "windows" };
  size_t i;

  for (i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      cleanup_error pg_error_t err = NULL;
      enum pg_version_scheme s = (enum pg_version_scheme) 42;
      if (version_scheme_for_distro (cases[i].family, &s, &err) < 0)
        fail_msg ("%s: %s", cases[i].family, err->msg);
      if (s != cases[i].scheme)
        fail_msg ("%s: got %s, expected %s", cases[i].family, version_scheme_name (s),
                  version_scheme_name (cases[i].scheme));
    }
  for (i = 0; i < sizeof (unknown) / sizeof (unknown[0]); i++)
    {
      cleanup_error pg_error_t err = NULL;
      cleanup_free char *quoted = NULL;
      enum pg_version_scheme s;
      if (version_scheme_for_distro (unknown[i], &s, &err) == 0)
        fail_msg ("'%s' mapped to %s, expected an error", unknown[i], version_scheme_name (s));
      xasprintf (&quoted, "'%s'", unknown[i]);
      assert_contains (err->msg, quoted);
    }
  {
    cleanup_error pg_error_t err = NULL;
    enum pg_version_scheme s;
    assert_int_equal (version_scheme_for_distro (NULL, &s, &err), -1);
    assert_non_null (err);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_dpkg_vectors), cmocka_unit_test (test_rpm_vectors),
    cmocka_unit_test (test_apk_vectors),  cmocka_unit_test (test_examples),
    cmocka_unit_test (test_malformed),    cmocka_unit_test (test_long_digit_runs),
    cmocka_unit_test (test_scheme_names), cmocka_unit_test (test_distro_schemes),
  };

  return cmocka_run_group_tests_name ("version", tests, NULL, NULL);
}
