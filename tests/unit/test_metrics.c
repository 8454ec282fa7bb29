/* Decision metrics (metrics/metrics.h): the counters file's fixed layout,
   counting, the rendered text and JSON, what metrics_open and
   metrics_textfile_open refuse, the hook config's keys, and publishing
   under contention: forked counters and publishers, and a reader that
   checks every version of the textfile it sees (whole, and no count below
   one it saw before).  */
#include "suite.h"
#include "metrics/metrics.h"
#include "config/hook_config.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char dir[] = "/tmp/patchgate-metrics-XXXXXX";

static char *
in_dir (const char *name)
{
  char *p = NULL;
  xasprintf (&p, "%s/%s", dir, name);
  return p;
}

static int
setup (void **state)
{
  if (mkdtemp (dir) == NULL)
    return -1;
  chmod (dir, 0755);
  return 0;
}

static int
teardown (void **state)
{
  cleanup_free char *cmd = NULL;
  xasprintf (&cmd, "rm -rf '%s'", dir);
  if (system (cmd) != 0)
    return -1;
  memcpy (dir + strlen (dir) - 6, "XXXXXX", 6);
  return 0;
}

/* ---- layout ---- */

static void
test_layout (void **state)
{
  /* The file's layout is fixed (metrics.h): offsets, size, slots.  */
  assert_int_equal (offsetof (struct pg_metrics_counters, magic), 0);
  assert_int_equal (offsetof (struct pg_metrics_counters, generation), 8);
  assert_int_equal (offsetof (struct pg_metrics_counters, last_decision), 16);
  assert_int_equal (offsetof (struct pg_metrics_counters, lease), 24);
  assert_int_equal (offsetof (struct pg_metrics_counters, published), 32);
  assert_int_equal (offsetof (struct pg_metrics_counters, published_at), 40);
  assert_int_equal (offsetof (struct pg_metrics_counters, decisions), 64);
  assert_int_equal (offsetof (struct pg_metrics_counters, reasons), 128);
  assert_int_equal (sizeof (struct pg_metrics_counters), 896);
  assert_int_equal (PG_METRICS_FILE_SIZE, 4096);
  assert_memory_equal (&(uint64_t){ PG_METRICS_MAGIC }, "PGMETR01", 8);

  static const char *const slots[] = {
    "UNSCANNED",       "UNIDENTIFIED",      "SCAN_STALE",
    "IMAGE_TOO_OLD",   "FIXABLE_CRITICAL",  "FIXABLE_HIGH",
    "FIXABLE_MEDIUM",  "FIXABLE_LOW",       "FIXABLE_NEGLIGIBLE",
    "FIXABLE_UNKNOWN", "BELOW_MIN_VERSION", "SUPERSEDED",
    "EOL_OS",          "REVOKED",           "REVOKED_BASE",
    "POLICY_STALE",    "POLICY_ERROR",      "INVALID_INPUT",
  };
  for (size_t i = 0; i < sizeof (slots) / sizeof (slots[0]); i++)
    {
      assert_string_equal (metrics_reason_name (i), slots[i]);
      assert_int_equal (metrics_reason_slot (slots[i]), i);
    }
  for (size_t i = sizeof (slots) / sizeof (slots[0]); i < PG_METRICS_OTHER; i++)
    assert_null (metrics_reason_name (i));
  assert_string_equal (metrics_reason_name (PG_METRICS_OTHER), "OTHER");
  assert_null (metrics_reason_name (PG_METRICS_REASONS));
  assert_string_equal (metrics_decision_name (0), "allow");
  assert_string_equal (metrics_decision_name (1), "audit");
  assert_string_equal (metrics_decision_name (2), "deny");
}

/* Every code the rules and the hook give has a slot of its own.  */
static void
test_every_code_has_a_slot (void **state)
{
  static const char *const codes[] = { "UNSCANNED",         "UNIDENTIFIED", "SCAN_STALE",   "IMAGE_TOO_OLD",
                                       "BELOW_MIN_VERSION", "SUPERSEDED",   "EOL_OS",       "REVOKED",
                                       "REVOKED_BASE",      "POLICY_STALE", "POLICY_ERROR", "INVALID_INPUT" };
  char code[64];

  for (size_t i = 0; i < sizeof (codes) / sizeof (codes[0]); i++)
    assert_int_not_equal (metrics_reason_slot (codes[i]), PG_METRICS_OTHER);
  for (int s = 0; s < PG_SEV_COUNT; s++)
    {
      /* As rule_fixable.c names them.  */
      snprintf (code, sizeof (code), "FIXABLE_%s", severity_name ((enum pg_severity) s));
      assert_int_not_equal (metrics_reason_slot (code), PG_METRICS_OTHER);
    }
  assert_int_equal (metrics_reason_slot ("SOMETHING_NEW"), PG_METRICS_OTHER);
  assert_int_equal (metrics_reason_slot ("OTHER"), PG_METRICS_OTHER);
  assert_int_equal (metrics_reason_slot (NULL), PG_METRICS_OTHER);
}

/* ---- counting and rendering ---- */

static size_t
count_lines (const char *s)
{
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void
test_count_and_render (void **state)
{
  struct pg_metrics_counters *c = xmalloc0 (sizeof (*c));
  struct pg_metrics_counters snap;
  const char *stale_high[] = { "SCAN_STALE", "FIXABLE_HIGH", "FIXABLE_HIGH" };
  const char *unscanned[] = { "UNSCANNED" };
  const char *bogus[] = { "BOGUS", "ALSO_BOGUS" };
  cleanup_free char *text = NULL;
  cleanup_free char *js = NULL;
  json_t *j;

  metrics_count (c, PG_VERDICT_ALLOW, NULL, 0, 1000);
  metrics_count (c, PG_VERDICT_DENY, stale_high, 3, 2000);
  metrics_count (c, PG_VERDICT_AUDIT, unscanned, 1, 1500);
  metrics_count (c, PG_VERDICT_DENY, bogus, 2, 1800);
  assert_int_equal (c->generation, 4);
  assert_int_equal (c->last_decision, 2000); /* the newest, not the last */
  assert_int_equal (c->decisions[0], 1);
  assert_int_equal (c->decisions[1], 1);
  assert_int_equal (c->decisions[2], 2);
  assert_int_equal (c->reasons[2][metrics_reason_slot ("SCAN_STALE")], 1);
  /* One decision, one count per code, however often it is given.  */
  assert_int_equal (c->reasons[2][metrics_reason_slot ("FIXABLE_HIGH")], 1);
  assert_int_equal (c->reasons[1][metrics_reason_slot ("UNSCANNED")], 1);
  assert_int_equal (c->reasons[2][PG_METRICS_OTHER], 1);

  metrics_snapshot (c, &snap);
  assert_memory_equal (&snap, c, sizeof (snap));
  text = metrics_render_text (&snap);
  /* HELP and TYPE of three families; 3 decisions, 3 x 19 reasons, 1 gauge.  */
  assert_int_equal (count_lines (text), 6 + 3 + 3 * 19 + 1);
  assert_non_null (strstr (text, "# HELP patchgate_decisions_total "));
  assert_non_null (strstr (text, "# TYPE patchgate_decisions_total counter\n"
                                 "patchgate_decisions_total{decision=\"allow\"} 1\n"
                                 "patchgate_decisions_total{decision=\"audit\"} 1\n"
                                 "patchgate_decisions_total{decision=\"deny\"} 2\n"));
  assert_non_null (strstr (text,
                           "# TYPE patchgate_decision_reasons_total counter\n"
                           "patchgate_decision_reasons_total{decision=\"allow\",reason=\"UNSCANNED\"} 0\n"));
  assert_non_null (
      strstr (text, "\npatchgate_decision_reasons_total{decision=\"deny\",reason=\"FIXABLE_HIGH\"} 1\n"));
  assert_non_null (
      strstr (text, "\npatchgate_decision_reasons_total{decision=\"deny\",reason=\"OTHER\"} 1\n"));
  assert_non_null (
      strstr (text, "\npatchgate_decision_reasons_total{decision=\"audit\",reason=\"UNSCANNED\"} 1\n"));
  assert_true (strstr (text, "# TYPE patchgate_last_decision_timestamp_seconds gauge\n"
                             "patchgate_last_decision_timestamp_seconds 2000\n")
               != NULL);
  /* Nothing else of the file (the lease, the magic) is shown.  */
  assert_null (strstr (text, "lease"));
  assert_int_equal (text[strlen (text) - 1], '\n');

  j = metrics_render_json (&snap);
  js = json_dumps (j, JSON_SORT_KEYS | JSON_COMPACT);
  json_decref (j);
  assert_string_equal (js, "{\"decisions\":{\"allow\":1,\"audit\":1,\"deny\":2},\"generation\":4,"
                           "\"last_decision\":\"1970-01-01T00:33:20Z\",\"published_generation\":0,"
                           "\"reasons\":{\"allow\":{},\"audit\":{\"UNSCANNED\":1},"
                           "\"deny\":{\"FIXABLE_HIGH\":1,\"OTHER\":1,\"SCAN_STALE\":1}}}");
  free (c);
}

/* ---- the counters file ---- */

static void
expect_open_error (const char *path, int flags, const char *want)
{
  struct pg_metrics m;
  pg_error_t err = NULL;

  assert_int_equal (metrics_open (path, flags, &m, &err), -1);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("%s: expected \"%s\" in: %s", path, want, err->msg);
  pg_error_release (&err);
  metrics_close (&m);
}

static void
write_bytes (const char *path, const void *data, size_t len)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (pg_write_all_raw (fd, data, len), 0);
  close (fd);
}

static void
test_open (void **state)
{
  cleanup_free char *p = in_dir ("c");
  cleanup_free char *lnk = in_dir ("link");
  cleanup_free char *hard = in_dir ("hard");
  cleanup_free char *fifo = in_dir ("fifo");
  struct pg_metrics m;
  pg_error_t err = NULL;
  struct stat st;
  char junk[PG_METRICS_FILE_SIZE];

  /* Missing, read-only: nothing counted yet.  */
  assert_int_equal (metrics_open (p, 0, &m, &err), 0);
  assert_int_equal (m.c->generation, 0);
  assert_false (m.mapped);
  metrics_close (&m);
  assert_int_equal (access (p, F_OK), -1);
  /* Missing, writable without CREATE: an error.  */
  expect_open_error (p, PG_METRICS_WRITE, "No such file");
  /* Created: one page, the magic set, counts kept across opens.  */
  assert_int_equal (metrics_open (p, PG_METRICS_CREATE | PG_METRICS_WRITE, &m, &err), 1);
  metrics_count (m.c, PG_VERDICT_DENY, NULL, 0, 5);
  metrics_close (&m);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_size, PG_METRICS_FILE_SIZE);
  assert_int_equal (metrics_open (p, 0, &m, &err), 1);
  assert_int_equal (m.c->magic, PG_METRICS_MAGIC);
  assert_int_equal (m.c->decisions[2], 1);
  metrics_close (&m);
  /* All zeros is the empty state (a file some hook just sized).  */
  memset (junk, 0, sizeof (junk));
  write_bytes (p, junk, sizeof (junk));
  assert_int_equal (metrics_open (p, 0, &m, &err), 1);
  assert_int_equal (m.c->magic, 0);
  metrics_close (&m);
  write_bytes (p, junk, 0);
  assert_int_equal (metrics_open (p, 0, &m, &err), 0);
  metrics_close (&m);

  /* Refused.  */
  write_bytes (p, junk, 100);
  expect_open_error (p, PG_METRICS_CREATE | PG_METRICS_WRITE, "100 bytes, not a patchgate counters file");
  memset (junk, 0xa5, sizeof (junk));
  write_bytes (p, junk, sizeof (junk));
  expect_open_error (p, PG_METRICS_CREATE | PG_METRICS_WRITE, "another format");
  expect_open_error (p, 0, "another format");
  unlink (p);
  assert_int_equal (metrics_open (p, PG_METRICS_CREATE | PG_METRICS_WRITE, &m, &err), 1);
  metrics_close (&m);
  assert_int_equal (chmod (p, 0664), 0);
  expect_open_error (p, PG_METRICS_WRITE, "writable by group");
  assert_int_equal (chmod (p, 0646), 0);
  expect_open_error (p, 0, "writable by others");
  assert_int_equal (chmod (p, 0644), 0);
  if (geteuid () == 0)
    {
      assert_int_equal (chown (p, 65534, 65534), 0);
      expect_open_error (p, PG_METRICS_WRITE, "owned by uid 65534");
      assert_int_equal (chown (p, 0, 0), 0);
    }
  assert_int_equal (symlink (p, lnk), 0);
  expect_open_error (lnk, PG_METRICS_CREATE | PG_METRICS_WRITE, "a symlink: refused");
  assert_int_equal (link (p, hard), 0);
  expect_open_error (p, PG_METRICS_WRITE, "2 hard links");
  unlink (hard);
  assert_int_equal (mkfifo (fifo, 0644), 0);
  expect_open_error (fifo, PG_METRICS_WRITE, "not a regular file");
  expect_open_error (dir, PG_METRICS_WRITE, "metrics counters file");
  unlink (p);
  unlink (lnk);
  unlink (fifo);
}

/* Many processes creating and counting in a new file at once: the zeros
   of the first ftruncate are the empty state, whoever comes first.  */
static void
test_concurrent_creation (void **state)
{
  cleanup_free char *p = in_dir ("fresh");
  struct pg_metrics m;
  pg_error_t err = NULL;
  const int procs = 8, each = 500;

  for (int i = 0; i < procs; i++)
    if (fork () == 0)
      {
        struct pg_metrics mine;
        pg_error_t e = NULL;
        if (metrics_open (p, PG_METRICS_CREATE | PG_METRICS_WRITE, &mine, &e) < 0)
          _exit (3);
        for (int k = 0; k < each; k++)
          metrics_count (mine.c, k % 2 ? PG_VERDICT_ALLOW : PG_VERDICT_DENY, NULL, 0, k);
        _exit (0);
      }
  for (int i = 0; i < procs; i++)
    {
      int st = 0;
      wait (&st);
      assert_true (WIFEXITED (st) && WEXITSTATUS (st) == 0);
    }
  assert_int_equal (metrics_open (p, 0, &m, &err), 1);
  assert_int_equal (m.c->magic, PG_METRICS_MAGIC);
  assert_int_equal (m.c->generation, (uint64_t) procs * each);
  assert_int_equal (m.c->decisions[0] + m.c->decisions[2], (uint64_t) procs * each);
  metrics_close (&m);
}

/* ---- the textfile ---- */

static void
expect_textfile_error (const char *path, const char *want)
{
  struct pg_metrics_textfile t;
  pg_error_t err = NULL;

  assert_int_equal (metrics_textfile_open (path, &t, &err), -1);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("%s: expected \"%s\" in: %s", path, want, err->msg);
  pg_error_release (&err);
  metrics_textfile_close (&t);
}

static void
test_textfile_open (void **state)
{
  cleanup_free char *sub = in_dir ("tf");
  cleanup_free char *top = in_dir ("theirs");
  cleanup_free char *below = in_dir ("theirs/node-exporter");
  cleanup_free char *via_link = in_dir ("linked");
  cleanup_free char *p = NULL;
  struct pg_metrics_textfile t;
  pg_error_t err = NULL;

  assert_int_equal (mkdir (sub, 0755), 0);
  xasprintf (&p, "%s/x.prom", sub);
  assert_int_equal (metrics_textfile_open (p, &t, &err), 0);
  assert_string_equal (t.name, "x.prom");
  assert_true (t.dirfd >= 0);
  metrics_textfile_close (&t);
  free (p);
  expect_textfile_error ("relative/x.prom", "absolute");
  expect_textfile_error ("/", "absolute file path");
  /* The directory: group- or world-writable, another user's, a symlink
     anywhere on the way, missing.  */
  assert_int_equal (chmod (sub, 0775), 0);
  xasprintf (&p, "%s/x.prom", sub);
  expect_textfile_error (p, "writable by group");
  assert_int_equal (chmod (sub, 0757), 0);
  expect_textfile_error (p, "writable by others");
  assert_int_equal (chmod (sub, 0755), 0);
  if (geteuid () == 0)
    {
      assert_int_equal (chown (sub, 65534, 65534), 0);
      expect_textfile_error (p, "owned by uid 65534");
      assert_int_equal (chown (sub, 0, 0), 0);
    }
  free (p);
  assert_int_equal (symlink (sub, via_link), 0);
  xasprintf (&p, "%s/x.prom", via_link);
  expect_textfile_error (p, "symlink");
  free (p);
  xasprintf (&p, "%s/x.prom", via_link);
  free (p);
  xasprintf (&p, "%s/missing/x.prom", dir);
  expect_textfile_error (p, "No such file");
  free (p);
  /* Under another user's directory, the textfile's own being root's and
     closed: accepted (Debian's /var/lib/prometheus/node-exporter).  */
  if (geteuid () == 0)
    {
      assert_int_equal (mkdir (top, 0755), 0);
      assert_int_equal (mkdir (below, 0755), 0);
      assert_int_equal (chown (top, 65534, 65534), 0);
      xasprintf (&p, "%s/patchgate.prom", below);
      assert_int_equal (metrics_textfile_open (p, &t, &err), 0);
      metrics_textfile_close (&t);
    }
}

/* The values of the sample lines of TEXT, in order; -1 when TEXT is not a
   whole file as metrics_render_text writes it.  */
static int
parse_values (const char *text, unsigned long long *v, size_t max)
{
  size_t n = 0;
  const char *line = text;

  if (*text == '\0' || text[strlen (text) - 1] != '\n')
    return -1;
  while (*line)
    {
      const char *end = strchr (line, '\n');
      if (*line != '#')
        {
          const char *sp = memrchr (line, ' ', (size_t) (end - line));
          if (sp == NULL || n == max)
            return -1;
          v[n++] = strtoull (sp + 1, NULL, 10);
        }
      line = end + 1;
    }
  return (int) n;
}

/* Writers count and publish at once; a reader checks every version of the
   textfile it sees; the last one holds every count.  */
static void
test_publish_concurrent (void **state)
{
  cleanup_free char *counters = in_dir ("pub.counters");
  cleanup_free char *tdir = in_dir ("pub");
  cleanup_free char *textfile = in_dir ("pub/p.prom");
  cleanup_free char *stop = in_dir ("stop");
  cleanup_free char *text = NULL;
  cleanup_free char *want = NULL;
  struct pg_metrics m;
  struct pg_metrics_textfile t;
  struct pg_metrics_counters snap;
  pg_error_t err = NULL;
  const int writers = 6, each = 300;
  pid_t reader;
  size_t len;
  int st;

  assert_int_equal (mkdir (tdir, 0755), 0);
  write_bytes (stop, "", 0);
  reader = fork ();
  if (reader == 0)
    {
      unsigned long long prev[128], cur[128];
      int np = -1, versions = 0;
      while (access (stop, F_OK) == 0)
        {
          char *s = NULL;
          size_t l = 0;
          pg_error_t e = NULL;
          int nc;
          if (read_all_file (textfile, 1 << 20, &s, &l, &e) < 0)
            {
              pg_error_release (&e);
              continue;
            }
          nc = parse_values (s, cur, 128);
          free (s);
          if (nc != 61)
            _exit (10); /* cut or malformed */
          for (int i = 0; np > 0 && i < nc - 1; i++)
            if (cur[i] < prev[i])
              _exit (11); /* a counter went down */
          memcpy (prev, cur, sizeof (cur));
          np = nc;
          versions++;
        }
      _exit (versions > 0 ? 0 : 12);
    }
  for (int w = 0; w < writers; w++)
    if (fork () == 0)
      {
        struct pg_metrics mm;
        struct pg_metrics_textfile tt;
        pg_error_t e = NULL;
        const char *codes[] = { w % 2 ? "SCAN_STALE" : "UNSCANNED" };
        if (metrics_open (counters, PG_METRICS_CREATE | PG_METRICS_WRITE, &mm, &e) < 0
            || metrics_textfile_open (textfile, &tt, &e) < 0)
          _exit (3);
        for (int k = 0; k < each; k++)
          {
            metrics_count (mm.c, (k + w) % 3 == 0 ? PG_VERDICT_ALLOW : PG_VERDICT_DENY, codes, 1, 1000 + k);
            if (metrics_publish (&mm, &tt, 10000, 0, &e) < 0)
              _exit (4);
          }
        _exit (0);
      }
  for (int w = 0; w < writers; w++)
    {
      st = 0;
      assert_true (wait (&st) > 0);
      if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
        fail_msg ("a writer (or the reader, early) ended with %d", st);
    }
  unlink (stop);
  assert_int_equal (waitpid (reader, &st, 0), reader);
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    fail_msg ("the reader: status %d (10: a cut file, 11: a count went down, 12: saw nothing)", st);

  /* The last file holds every decision: it is the render of the counters.  */
  assert_int_equal (metrics_open (counters, 0, &m, &err), 1);
  assert_int_equal (m.c->generation, (uint64_t) writers * each);
  assert_int_equal (m.c->published, m.c->generation);
  assert_int_equal (m.c->lease, 0);
  metrics_snapshot (m.c, &snap);
  want = metrics_render_text (&snap);
  assert_int_equal (read_all_file (textfile, 1 << 20, &text, &len, &err), 0);
  assert_string_equal (text, want);
  metrics_close (&m);
  /* Nothing else beside it.  */
  {
    DIR *d = opendir (tdir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir (d)))
      if (e->d_name[0] != '.' || (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0))
        {
          assert_string_equal (e->d_name, "p.prom");
          n++;
        }
    closedir (d);
    assert_int_equal (n, 1);
  }
  (void) t;
}

static uint64_t
ms_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* A lease held by a live publisher is left alone (nothing rendered here:
   the holder will); a stale one, or one from the future (the clock set
   back), is taken over.  */
static void
test_lease (void **state)
{
  cleanup_free char *counters = in_dir ("lease.counters");
  cleanup_free char *tdir = in_dir ("lease");
  cleanup_free char *textfile = in_dir ("lease/l.prom");
  cleanup_free char *text = NULL;
  struct pg_metrics m;
  struct pg_metrics_textfile t;
  pg_error_t err = NULL;
  size_t len;

  assert_int_equal (mkdir (tdir, 0755), 0);
  assert_int_equal (metrics_open (counters, PG_METRICS_CREATE | PG_METRICS_WRITE, &m, &err), 1);
  assert_int_equal (metrics_textfile_open (textfile, &t, &err), 0);
  metrics_count (m.c, PG_VERDICT_ALLOW, NULL, 0, 1);
  m.c->lease = ms_now ();
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 0);
  assert_int_equal (access (textfile, F_OK), -1);
  /* Stale: taken over, published, given back.  */
  m.c->lease = ms_now () - 20000;
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 1);
  assert_int_equal (m.c->lease, 0);
  assert_int_equal (m.c->published, 1);
  assert_int_equal (read_all_file (textfile, 1 << 20, &text, &len, &err), 0);
  assert_non_null (strstr (text, "patchgate_decisions_total{decision=\"allow\"} 1\n"));
  /* Published already: nothing to render, unless forced.  */
  unlink (textfile);
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 0);
  assert_int_equal (access (textfile, F_OK), -1);
  assert_int_equal (metrics_publish (&m, &t, 10000, PG_METRICS_PUBLISH_FORCE, &err), 1);
  assert_int_equal (access (textfile, F_OK), 0);
  /* From an hour ahead: taken over.  */
  metrics_count (m.c, PG_VERDICT_ALLOW, NULL, 0, 2);
  m.c->lease = ms_now () + 3600 * 1000;
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 1);
  /* A deadline's handler gives back only its own lease.  */
  m.c->lease = 12345;
  metrics_lease_release_async ();
  assert_int_equal (m.c->lease, 12345);
  m.c->lease = 0;
  /* A temporary file of a killed process with this pid is replaced.  */
  {
    cleanup_free char *tmp = NULL;
    xasprintf (&tmp, "%s/.l.prom.%ld", tdir, (long) getpid ());
    write_bytes (tmp, "junk", 4);
    metrics_count (m.c, PG_VERDICT_ALLOW, NULL, 0, 3);
    assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 1);
    assert_int_equal (access (tmp, F_OK), -1);
  }
  /* At most once per interval: a decision counted sooner waits for the
     first publisher after it, or a forced publish (the CLI's).  */
  t.min_interval_ms = 60000;
  metrics_count (m.c, PG_VERDICT_DENY, NULL, 0, 5);
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 0);
  assert_true (m.c->published < m.c->generation);
  assert_int_equal (m.c->lease, 0);
  m.c->published_at = ms_now () - 61000;
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 1);
  assert_int_equal (m.c->published, m.c->generation);
  metrics_count (m.c, PG_VERDICT_DENY, NULL, 0, 6);
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 0);
  assert_int_equal (metrics_publish (&m, &t, 10000, PG_METRICS_PUBLISH_FORCE, &err), 1);
  assert_int_equal (m.c->published, m.c->generation);
  /* A mark from more than a minute ahead (the clock set back) is no wait.  */
  metrics_count (m.c, PG_VERDICT_DENY, NULL, 0, 7);
  m.c->published_at = ms_now () + 3600 * 1000;
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), 1);
  t.min_interval_ms = 0;
  /* An error (the textfile a directory) gives the lease back.  */
  unlink (textfile);
  assert_int_equal (mkdir (textfile, 0755), 0);
  metrics_count (m.c, PG_VERDICT_ALLOW, NULL, 0, 4);
  assert_int_equal (metrics_publish (&m, &t, 10000, 0, &err), -1);
  assert_non_null (strstr (err->msg, "renaming"));
  pg_error_release (&err);
  assert_int_equal (m.c->lease, 0);
  rmdir (textfile);
  metrics_textfile_close (&t);
  metrics_close (&m);
}

/* ---- the hook config's keys ---- */

static int
load (const char *json, struct pg_hook_config *cfg, pg_error_t *err)
{
  cleanup_free char *p = in_dir ("hook.json");
  write_bytes (p, json, strlen (json));
  return hook_config_load (p, cfg, err);
}

static void
test_config_keys (void **state)
{
  struct pg_hook_config cfg;
  pg_error_t err = NULL;

  assert_int_equal (load ("{}", &cfg, &err), 0);
  assert_null (cfg.metrics_textfile);
  assert_null (cfg.metrics_counters);
  assert_int_equal (cfg.metrics_interval, 10);
  hook_config_free (&cfg);
  assert_int_equal (load ("{\"metrics_interval\": \"0s\"}", &cfg, &err), 0);
  assert_int_equal (cfg.metrics_interval, 0);
  hook_config_free (&cfg);
  assert_int_equal (load ("{\"metrics_interval\": \"1m\"}", &cfg, &err), 0);
  assert_int_equal (cfg.metrics_interval, 60);
  hook_config_free (&cfg);
  /* The counters beside the database by default.  */
  assert_int_equal (load ("{\"policy_db\": \"/srv/pg/host.db\", \"metrics_textfile\": "
                          "\"/var/lib/prometheus/node-exporter/patchgate.prom\"}",
                          &cfg, &err),
                    0);
  assert_string_equal (cfg.metrics_textfile, "/var/lib/prometheus/node-exporter/patchgate.prom");
  assert_string_equal (cfg.metrics_counters, "/srv/pg/metrics.counters");
  hook_config_free (&cfg);
  assert_int_equal (load ("{\"metrics_textfile\": \"/run/x.prom\"}", &cfg, &err), 0);
  assert_string_equal (cfg.metrics_counters, "/var/lib/patchgate/metrics.counters");
  hook_config_free (&cfg);
  assert_int_equal (load ("{\"metrics_counters\": \"/var/lib/c\"}", &cfg, &err), 0);
  assert_null (cfg.metrics_textfile);
  assert_string_equal (cfg.metrics_counters, "/var/lib/c");
  hook_config_free (&cfg);

  static const struct
  {
    const char *json, *want;
  } bad[] = {
    { "{\"metrics_textfile\": \"patchgate.prom\"}", "metrics_textfile: must be an absolute path" },
    { "{\"metrics_textfile\": \"/x/patchgate.txt\"}", "must end in \".prom\"" },
    { "{\"metrics_textfile\": \"/x/.prom\"}", "must name a file" },
    { "{\"metrics_textfile\": \"/x/\"}", "must name a file" },
    { "{\"metrics_textfile\": \"/x/../y.prom\"}", "absolute path" },
    { "{\"metrics_textfile\": 7}", "metrics_textfile" },
    { "{\"metrics_counters\": \"rel\"}", "metrics_counters: must be an absolute path" },
    { "{\"metrics_counters\": \"/x/.hidden\"}", "metrics_counters: must name a file" },
    { "{\"metrics_interval\": 10}", "metrics_interval: must be a duration" },
    { "{\"metrics_interval\": \"2d\"}", "metrics_interval: must be a duration" },
  };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      assert_int_equal (load (bad[i].json, &cfg, &err), -1);
      if (strstr (err->msg, bad[i].want) == NULL)
        fail_msg ("%s: expected \"%s\" in: %s", bad[i].json, bad[i].want, err->msg);
      pg_error_release (&err);
      hook_config_free (&cfg);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_layout),
    cmocka_unit_test (test_every_code_has_a_slot),
    cmocka_unit_test (test_count_and_render),
    cmocka_unit_test_setup_teardown (test_open, setup, teardown),
    cmocka_unit_test_setup_teardown (test_concurrent_creation, setup, teardown),
    cmocka_unit_test_setup_teardown (test_textfile_open, setup, teardown),
    cmocka_unit_test_setup_teardown (test_publish_concurrent, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lease, setup, teardown),
    cmocka_unit_test_setup_teardown (test_config_keys, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
