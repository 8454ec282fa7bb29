/* patchgate: decision metrics (see metrics.h).
 *
 * Why the textfile is right, with hooks deciding at once and no lock any
 * of them waits for.  Every atomic operation on generation and lease is
 * sequentially consistent, so they all fall in one order S.
 *
 * 1. Counting.  A hook adds its counts (relaxed), then bumps generation:
 *    whoever reads generation at a value that includes the bump also sees
 *    the counts (the bump releases them, the read acquires them).
 *
 * 2. One publisher at a time.  After counting, a hook tries to take the
 *    lease (compare-and-swap from 0, or from a lease older than any hook
 *    lives).  The holder reads generation G, copies the counters, renders
 *    them into a new file beside the textfile, renames it over the
 *    textfile, records G as published, gives the lease back, and reads
 *    generation again: when it moved, it goes round again (a fresh lease,
 *    a fresh copy).  A hook that finds the lease taken leaves at once.
 *
 * 3. Nothing counted is left out.  Take a hook K that bumped generation
 *    and then found the lease taken by H.  K's bump comes before its look
 *    at the lease, which saw the lease before H gave it back (else K would
 *    have found it free), which comes before H's second read of
 *    generation: so that read includes K's bump, H sees generation moved,
 *    and whoever publishes next (H again, or another who took the lease
 *    in between) reads generation after K's bump and copies K's counts.
 *    So the last file renamed holds every decision counted before it, by
 *    induction over the holders, as long as holders finish; one that
 *    dies holding it delays publishing until its lease is stale.
 *
 * 4. No count ever goes down (Prometheus would take it for a reset).
 *    Holders follow each other: each one's copy of the counters is read
 *    after taking the lease, which its predecessor gave back after its own
 *    copy and rename.  Counters only grow, so every value in a file is at
 *    least the value in the file renamed before it.  A holder checks that
 *    the lease is still its own right before renaming, so one taken over
 *    as stale (its holder stopped, then resumed) does not rename an older
 *    copy over a newer one.
 *
 * 5. A holder that finds PUBLISHED at or above the generation it read
 *    renders nothing: a file holding every decision up to that generation
 *    (its own included) was renamed already, and none renamed since holds
 *    less (4).
 *
 * tests/unit/test_metrics.c forks counters and publishers and a reader
 * that checks every file it sees; tests/integration/metrics.bats does it
 * with 100 hooks.
 */
#include "metrics/metrics.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

/* Slots are part of the file's layout: append only, never reorder.  */
static const char *const reason_names[PG_METRICS_REASONS] = {
  "UNSCANNED",
  "UNIDENTIFIED",
  "SCAN_STALE",
  "IMAGE_TOO_OLD",
  "FIXABLE_CRITICAL",
  "FIXABLE_HIGH",
  "FIXABLE_MEDIUM",
  "FIXABLE_LOW",
  "FIXABLE_NEGLIGIBLE",
  "FIXABLE_UNKNOWN",
  "BELOW_MIN_VERSION",
  "SUPERSEDED",
  "EOL_OS",
  "REVOKED",
  "REVOKED_BASE",
  "POLICY_STALE",
  "POLICY_ERROR",
  "INVALID_INPUT",
  [PG_METRICS_OTHER] = "OTHER",
};

static const char *const decision_names[PG_METRICS_DECISIONS] = { "allow", "audit", "deny" };

const char *
metrics_reason_name (size_t i)
{
  return i < PG_METRICS_REASONS ? reason_names[i] : NULL;
}

size_t
metrics_reason_slot (const char *code)
{
  for (size_t i = 0; code && i < PG_METRICS_OTHER; i++)
    if (reason_names[i] && strcmp (reason_names[i], code) == 0)
      return i;
  return PG_METRICS_OTHER;
}

const char *
metrics_decision_name (size_t d)
{
  return d < PG_METRICS_DECISIONS ? decision_names[d] : NULL;
}

static size_t
decision_slot (enum pg_verdict v)
{
  return v == PG_VERDICT_ALLOW ? 0 : v == PG_VERDICT_AUDIT ? 1 : 2;
}

/* ---- the counters file ---- */

int
metrics_open (const char *path, int flags, struct pg_metrics *m, pg_error_t *err)
{
  bool write = (flags & PG_METRICS_WRITE) != 0;
  int oflags = (write ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  cleanup_close int fd = -1;
  struct stat st;
  uint64_t magic;
  void *p;

  memset (m, 0, sizeof (*m));
  m->path = xstrdup (path);
  if (flags & PG_METRICS_CREATE)
    oflags |= O_CREAT;
  fd = open (path, oflags, 0644);
  if (fd < 0 && errno == ENOENT && !write)
    {
      /* Nothing counted yet.  */
      m->c = xmalloc0 (sizeof (*m->c));
      return 0;
    }
  if (fd < 0 && errno == ELOOP)
    return pg_make_error (err, errno, "metrics counters file %s: a symlink: refused", path);
  if (fd < 0)
    return pg_make_error (err, errno, "metrics counters file %s", path);
  if (fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "metrics counters file %s: fstat", path);
  if (!S_ISREG (st.st_mode))
    return pg_make_error (err, 0, "metrics counters file %s: not a regular file: refused", path);
  if (st.st_uid != 0 && st.st_uid != geteuid ())
    return pg_make_error (
        err, 0,
        "metrics counters file %s: owned by uid %u, not root: refused (chown root, or remove "
        "it)",
        path, (unsigned) st.st_uid);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return pg_make_error (err, 0,
                          "metrics counters file %s: mode %04o is writable by %s: refused (chmod 0644)", path,
                          (unsigned) (st.st_mode & 07777), (st.st_mode & S_IWOTH) ? "others" : "group");
  if (st.st_nlink != 1)
    return pg_make_error (err, 0, "metrics counters file %s: %lu hard links: refused", path,
                          (unsigned long) st.st_nlink);
  if (st.st_size == 0 && !write)
    {
      m->c = xmalloc0 (sizeof (*m->c));
      return 0;
    }
  /* A new file: whoever comes first sizes it; a second ftruncate to the
     same size changes nothing, counts made since included.  */
  if (st.st_size == 0 && ftruncate (fd, PG_METRICS_FILE_SIZE) < 0)
    return pg_make_error (err, errno, "metrics counters file %s: ftruncate", path);
  if (st.st_size != 0 && st.st_size != PG_METRICS_FILE_SIZE)
    return pg_make_error (err, 0,
                          "metrics counters file %s: %lld bytes, not a patchgate counters file (%d bytes): "
                          "refused (remove it to start counting again)",
                          path, (long long) st.st_size, PG_METRICS_FILE_SIZE);
  p = mmap (NULL, PG_METRICS_FILE_SIZE, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return pg_make_error (err, errno, "metrics counters file %s: mmap", path);
  m->c = p;
  m->mapped = true;
  m->writable = write;
  magic = __atomic_load_n (&m->c->magic, __ATOMIC_ACQUIRE);
  if (magic == 0 && write)
    {
      __atomic_compare_exchange_n (&m->c->magic, &magic, PG_METRICS_MAGIC, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE);
      magic = __atomic_load_n (&m->c->magic, __ATOMIC_ACQUIRE);
    }
  if (magic != 0 && magic != PG_METRICS_MAGIC)
    {
      munmap (p, PG_METRICS_FILE_SIZE);
      m->c = NULL;
      return pg_make_error (err, 0,
                            "metrics counters file %s: another format (magic %016llx): refused (remove it to "
                            "start counting again)",
                            path, (unsigned long long) magic);
    }
  return 1;
}

void
metrics_close (struct pg_metrics *m)
{
  if (m->mapped)
    munmap (m->c, PG_METRICS_FILE_SIZE);
  else
    free (m->c);
  free (m->path);
  memset (m, 0, sizeof (*m));
}

void
metrics_count (struct pg_metrics_counters *c, enum pg_verdict v, const char *const *codes, size_t n,
               int64_t now)
{
  size_t d = decision_slot (v);
  uint32_t seen = 0;
  int64_t last;

  __atomic_fetch_add (&c->decisions[d], 1, __ATOMIC_RELAXED);
  for (size_t i = 0; i < n; i++)
    {
      size_t s = metrics_reason_slot (codes[i]);
      if (seen & (UINT32_C (1) << s))
        continue;
      seen |= UINT32_C (1) << s;
      __atomic_fetch_add (&c->reasons[d][s], 1, __ATOMIC_RELAXED);
    }
  last = __atomic_load_n (&c->last_decision, __ATOMIC_RELAXED);
  while (last < now
         && !__atomic_compare_exchange_n (&c->last_decision, &last, now, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED))
    ;
  /* Releases the counts above to whoever reads this generation.  */
  __atomic_fetch_add (&c->generation, 1, __ATOMIC_SEQ_CST);
}

void
metrics_snapshot (const struct pg_metrics_counters *c, struct pg_metrics_counters *out)
{
  const uint64_t *from = (const uint64_t *) c;
  uint64_t *to = (uint64_t *) out;

  to[1] = __atomic_load_n (&c->generation, __ATOMIC_SEQ_CST);
  for (size_t i = 0; i < sizeof (*c) / sizeof (uint64_t); i++)
    if (i != 1)
      to[i] = __atomic_load_n (&from[i], __ATOMIC_RELAXED);
}

/* ---- rendering ---- */

/* Copy-and-number only, no printf: the hook renders the whole file after
   every decision, and a formatted call per line was most of the metrics'
   instructions (BENCHMARKS.md).  */
static char *
put_str (char *p, const char *s)
{
  return stpcpy (p, s);
}

static char *
put_u64 (char *p, uint64_t v)
{
  char tmp[24];
  size_t n = 0;

  do
    tmp[n++] = (char) ('0' + v % 10);
  while ((v /= 10) != 0);
  while (n)
    *p++ = tmp[--n];
  return p;
}

#define HELP_DECISIONS                                                                                       \
  "# HELP patchgate_decisions_total Container starts decided by patchgate-hook, by decision (the decision "  \
  "log's decision=).\n"                                                                                      \
  "# TYPE patchgate_decisions_total counter\n"
#define HELP_REASONS                                                                                         \
  "# HELP patchgate_decision_reasons_total Reasons given by patchgate-hook's decisions, by decision and "    \
  "reason code (a decision with several reasons counts under each).\n"                                       \
  "# TYPE patchgate_decision_reasons_total counter\n"
#define HELP_LAST                                                                                            \
  "# HELP patchgate_last_decision_timestamp_seconds When patchgate-hook last counted a decision (Unix "      \
  "time; "                                                                                                   \
  "0: never).\n"                                                                                             \
  "# TYPE patchgate_last_decision_timestamp_seconds gauge\n"

char *
metrics_render_text (const struct pg_metrics_counters *s)
{
  /* Every line's fixed text, and 20 digits for each number.  */
  size_t cap = sizeof (HELP_DECISIONS) + sizeof (HELP_REASONS) + sizeof (HELP_LAST)
               + PG_METRICS_DECISIONS * (PG_METRICS_REASONS + 1) * 128 + 128;
  char *out = xmalloc0 (cap), *p = out;

  p = put_str (p, HELP_DECISIONS);
  for (size_t d = 0; d < PG_METRICS_DECISIONS; d++)
    {
      p = put_str (p, "patchgate_decisions_total{decision=\"");
      p = put_str (p, decision_names[d]);
      p = put_str (p, "\"} ");
      p = put_u64 (p, s->decisions[d]);
      *p++ = '\n';
    }
  p = put_str (p, HELP_REASONS);
  for (size_t d = 0; d < PG_METRICS_DECISIONS; d++)
    for (size_t r = 0; r < PG_METRICS_REASONS; r++)
      if (reason_names[r])
        {
          p = put_str (p, "patchgate_decision_reasons_total{decision=\"");
          p = put_str (p, decision_names[d]);
          p = put_str (p, "\",reason=\"");
          p = put_str (p, reason_names[r]);
          p = put_str (p, "\"} ");
          p = put_u64 (p, s->reasons[d][r]);
          *p++ = '\n';
        }
  p = put_str (p, HELP_LAST);
  p = put_str (p, "patchgate_last_decision_timestamp_seconds ");
  p = put_u64 (p, s->last_decision > 0 ? (uint64_t) s->last_decision : 0);
  *p++ = '\n';
  *p = '\0';
  return out;
}

json_t *
metrics_render_json (const struct pg_metrics_counters *s)
{
  json_t *out = json_object ();
  json_t *decisions = json_object ();
  json_t *reasons = json_object ();
  char when[64];

  json_object_set_new (out, "generation", json_integer ((json_int_t) s->generation));
  if (s->last_decision > 0)
    {
      format_rfc3339 (s->last_decision, when, sizeof (when));
      json_object_set_new (out, "last_decision", json_string (when));
    }
  else
    json_object_set_new (out, "last_decision", json_null ());
  for (size_t d = 0; d < PG_METRICS_DECISIONS; d++)
    {
      json_t *by = json_object ();
      json_object_set_new (decisions, decision_names[d], json_integer ((json_int_t) s->decisions[d]));
      for (size_t r = 0; r < PG_METRICS_REASONS; r++)
        if (reason_names[r] && s->reasons[d][r])
          json_object_set_new (by, reason_names[r], json_integer ((json_int_t) s->reasons[d][r]));
      json_object_set_new (reasons, decision_names[d], by);
    }
  json_object_set_new (out, "decisions", decisions);
  json_object_set_new (out, "reasons", reasons);
  json_object_set_new (out, "published_generation", json_integer ((json_int_t) s->published));
  return out;
}

/* ---- the textfile ---- */

int
metrics_textfile_open (const char *path, struct pg_metrics_textfile *t, pg_error_t *err)
{
  const char *slash = path ? strrchr (path, '/') : NULL;
  cleanup_free char *dir = NULL;
  cleanup_close int root = -1;
  struct stat st;

  memset (t, 0, sizeof (*t));
  t->dirfd = -1;
  if (path == NULL || path[0] != '/' || slash == NULL || slash[1] == '\0')
    return pg_make_error (err, 0, "metrics textfile %s: must be an absolute file path", path ? path : "?");
  t->path = xstrdup (path);
  t->name = xstrdup (slash + 1);
  dir = slash == path ? xstrdup (".") : strndup (path + 1, (size_t) (slash - path - 1));
  root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return pg_make_error (err, errno, "metrics textfile %s: opening /", path);
  t->dirfd = strcmp (dir, ".") == 0
                 ? open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                 : pg_safe_openat (root, dir, O_RDONLY | O_DIRECTORY, PG_RESOLVE_NO_SYMLINKS);
  if (t->dirfd < 0 && (errno == ELOOP || errno == EXDEV))
    return pg_make_error (err, errno,
                          "metrics textfile %s: its directory is reached through a symlink: refused", path);
  if (t->dirfd < 0)
    return pg_make_error (err, errno, "metrics textfile %s: its directory", path);
  if (fstat (t->dirfd, &st) < 0)
    return pg_make_error (err, errno, "metrics textfile %s: fstat of its directory", path);
  if (st.st_uid != 0 && st.st_uid != geteuid ())
    return pg_make_error (err, 0, "metrics textfile %s: its directory is owned by uid %u, not root: refused",
                          path, (unsigned) st.st_uid);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return pg_make_error (
        err, 0,
        "metrics textfile %s: its directory (mode %04o) is writable by %s: refused (node_exporter "
        "only needs to read it: chmod 0755)",
        path, (unsigned) (st.st_mode & 07777), (st.st_mode & S_IWOTH) ? "others" : "group");
  return 0;
}

void
metrics_textfile_close (struct pg_metrics_textfile *t)
{
  if (t->dirfd >= 0)
    close (t->dirfd);
  free (t->path);
  free (t->name);
  memset (t, 0, sizeof (*t));
  t->dirfd = -1;
}

/* The lease this process holds, for metrics_lease_release_async.  */
static struct pg_metrics_counters *held_c;
static uint64_t held_v;

static uint64_t
now_ms (void)
{
  struct timespec ts;
  uint64_t ms;

  clock_gettime (CLOCK_REALTIME, &ts);
  ms = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
  return ms ? ms : 1;
}

/* Take the lease, unless another holds it: held when set less than
   STALE_MS ago (and not from more than a minute ahead: a clock set
   back).  */
static bool
lease_take (struct pg_metrics_counters *c, int64_t stale_ms, uint64_t *mine)
{
  uint64_t cur = __atomic_load_n (&c->lease, __ATOMIC_SEQ_CST);

  for (int i = 0; i < 64; i++)
    {
      uint64_t now = now_ms ();
      if (cur != 0 && cur + (uint64_t) stale_ms > now && cur < now + 60000)
        return false;
      if (__atomic_compare_exchange_n (&c->lease, &cur, now, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        {
          __atomic_store_n (&held_v, now, __ATOMIC_SEQ_CST);
          __atomic_store_n (&held_c, c, __ATOMIC_SEQ_CST);
          *mine = now;
          return true;
        }
    }
  return false;
}

static void
lease_give_back (struct pg_metrics_counters *c, uint64_t mine)
{
  __atomic_store_n (&held_c, NULL, __ATOMIC_SEQ_CST);
  __atomic_store_n (&held_v, 0, __ATOMIC_SEQ_CST);
  __atomic_compare_exchange_n (&c->lease, &mine, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void
metrics_lease_release_async (void)
{
  struct pg_metrics_counters *c = __atomic_load_n (&held_c, __ATOMIC_SEQ_CST);
  uint64_t v = __atomic_load_n (&held_v, __ATOMIC_SEQ_CST);

  if (c && v)
    __atomic_compare_exchange_n (&c->lease, &v, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Write TEXT to a new file beside the textfile and rename it over it, if
   the lease is still MINE.  Returns 1 when renamed, 0 when the lease was
   taken over (nothing renamed), -1 on an error.  */
static int
write_and_rename (const struct pg_metrics_textfile *t, const char *text, struct pg_metrics_counters *c,
                  uint64_t mine, pg_error_t *err)
{
  char tmp[320];
  struct stat st;
  int fd, e;

  /* Not *.prom: node_exporter reads only those.  */
  snprintf (tmp, sizeof (tmp), ".%.200s.%ld", t->name, (long) getpid ());
  fd = openat (t->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST)
    {
      /* Left by a process of the same pid that was killed.  */
      unlinkat (t->dirfd, tmp, 0);
      fd = openat (t->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    }
  if (fd < 0)
    return pg_make_error (err, errno, "metrics textfile %s: creating %s beside it", t->path, tmp);
  if (pg_write_all_raw (fd, text, strlen (text)) < 0)
    {
      e = errno;
      close (fd);
      unlinkat (t->dirfd, tmp, 0);
      return pg_make_error (err, e, "metrics textfile %s: writing %s", t->path, tmp);
    }
  if (close (fd) < 0)
    {
      e = errno;
      unlinkat (t->dirfd, tmp, 0);
      return pg_make_error (err, e, "metrics textfile %s: writing %s", t->path, tmp);
    }
  if (__atomic_load_n (&c->lease, __ATOMIC_SEQ_CST) != mine)
    {
      unlinkat (t->dirfd, tmp, 0);
      return 0;
    }
  /* Swapped with the textfile, whose old version is then removed under
     the temporary name: as atomic for readers as a rename over it, and on
     ext4 a rename over a file first writes the new one's data out
     (auto_da_alloc), ten to fifty times the cost (BENCHMARKS.md).  Only
     the first file, or a file system without RENAME_EXCHANGE, is renamed
     in place.  */
  if (fstatat (t->dirfd, t->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode))
    {
      unlinkat (t->dirfd, tmp, 0);
      return pg_make_error (err, EISDIR, "metrics textfile %s: renaming %s over it", t->path, tmp);
    }
  if (renameat2 (t->dirfd, tmp, t->dirfd, t->name, RENAME_EXCHANGE) == 0)
    {
      unlinkat (t->dirfd, tmp, 0);
      return 1;
    }
  if (renameat (t->dirfd, tmp, t->dirfd, t->name) < 0)
    {
      e = errno;
      unlinkat (t->dirfd, tmp, 0);
      return pg_make_error (err, e, "metrics textfile %s: renaming %s over it", t->path, tmp);
    }
  return 1;
}

bool
metrics_published_within (const struct pg_metrics *m, int64_t min_interval_ms)
{
  uint64_t at, now;

  if (min_interval_ms <= 0 || m->c == NULL)
    return false;
  at = __atomic_load_n (&m->c->published_at, __ATOMIC_SEQ_CST);
  now = now_ms ();
  return at != 0 && now < at + (uint64_t) min_interval_ms && at < now + 60000;
}

int
metrics_publish (struct pg_metrics *m, const struct pg_metrics_textfile *t, int64_t stale_ms, int flags,
                 pg_error_t *err)
{
  struct pg_metrics_counters *c = m->c;
  struct pg_metrics_counters snap;
  int published = 0;

  if (!m->writable)
    return pg_make_error (err, 0, "metrics counters file %s: not open for writing", m->path);
  for (int round = 0; round < PG_METRICS_MAX_ROUNDS; round++)
    {
      uint64_t mine = 0, g;
      cleanup_free char *text = NULL;
      int r;

      if (!lease_take (c, stale_ms, &mine))
        return published;
      g = __atomic_load_n (&c->generation, __ATOMIC_SEQ_CST);
      /* A holder before this one published every decision up to G (ours
         included): nothing to add.  */
      if (!(flags & PG_METRICS_PUBLISH_FORCE) && __atomic_load_n (&c->published, __ATOMIC_SEQ_CST) >= g)
        {
          lease_give_back (c, mine);
          if (__atomic_load_n (&c->generation, __ATOMIC_SEQ_CST) == g)
            return published;
          continue;
        }
      /* Published less than the interval ago: the next publisher after it
         publishes this decision too.  */
      if (!(flags & PG_METRICS_PUBLISH_FORCE) && metrics_published_within (m, t->min_interval_ms))
        {
          lease_give_back (c, mine);
          return published;
        }
      flags &= ~PG_METRICS_PUBLISH_FORCE;
      metrics_snapshot (c, &snap);
      text = metrics_render_text (&snap);
      r = write_and_rename (t, text, c, mine, err);
      if (r < 0)
        {
          lease_give_back (c, mine);
          return -1;
        }
      if (r == 0)
        return published;
      published = 1;
      __atomic_store_n (&c->published, g, __ATOMIC_SEQ_CST);
      __atomic_store_n (&c->published_at, now_ms (), __ATOMIC_SEQ_CST);
      lease_give_back (c, mine);
      if (__atomic_load_n (&c->generation, __ATOMIC_SEQ_CST) == g)
        return 1;
    }
  return published;
}
