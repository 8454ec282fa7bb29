/* patchgate: decision metrics: the hook counts every decision by its
 * decision and reasons, and renders the counts as a Prometheus
 * node_exporter textfile (the hook config's metrics_counters and
 * metrics_textfile; README, "Metrics").
 *
 * The counters file is one page, mapped shared by every hook and updated
 * with atomic instructions only: no lock, nothing a hook ever waits for.
 * A file of zeros (a new one, made with O_CREAT and ftruncate by whichever
 * hook comes first, however many come at once) is the valid empty state.
 * Host byte order; the layout below is fixed: a new reason code takes a
 * free slot, anything else changes PG_METRICS_MAGIC, and a file with
 * another magic is refused (remove it to start again).
 *
 * Publishing the textfile (metrics_publish) is a render into a temporary
 * file beside it swapped in for it (an atomic rename), by one process at
 * a time: whoever
 * takes the lease, a word in the counters file set with compare-and-swap,
 * publishes; whoever finds it taken leaves at once and counts on the
 * holder, who looks at the generation again after giving the lease back.
 * metrics.c argues why the last file renamed holds every decision counted,
 * and why no file renamed ever shows a smaller count than one before it (a
 * counter going down is a reset to Prometheus).
 */
#ifndef PATCHGATE_METRICS_H
#define PATCHGATE_METRICS_H

#include "base/util.h"
#include "rules/policy.h"

#include <assert.h>

#define PG_METRICS_FILE_SIZE 4096
/* "PGMETR01" in a little-endian file.  */
#define PG_METRICS_MAGIC UINT64_C (0x31305254454d4750)
#define PG_METRICS_DECISIONS 3 /* allow, audit, deny: pg_verdict's order */
#define PG_METRICS_REASONS 32  /* slots; the last one is OTHER */
#define PG_METRICS_OTHER (PG_METRICS_REASONS - 1)
/* How many times a holder of the lease publishes again because more was
   counted while it did (a burst of starts), before it leaves the rest to
   the next hook.  */
#define PG_METRICS_MAX_ROUNDS 64

struct pg_metrics_counters
{
  uint64_t magic;        /* 0 (a new file) or PG_METRICS_MAGIC */
  uint64_t generation;   /* decisions counted: bumped after each one's counts */
  int64_t last_decision; /* Unix time of the newest decision counted */
  uint64_t lease;        /* 0, or the CLOCK_REALTIME ms at which a publisher took it */
  uint64_t published;    /* the generation of the last textfile published */
  uint64_t published_at; /* the CLOCK_REALTIME ms at which it was (0: never) */
  uint64_t reserved1[2];
  uint64_t decisions[PG_METRICS_DECISIONS];
  uint64_t reserved2[5];
  uint64_t reasons[PG_METRICS_DECISIONS][PG_METRICS_REASONS];
};
static_assert (sizeof (struct pg_metrics_counters) == 896, "the counters file's layout is fixed");
static_assert (sizeof (struct pg_metrics_counters) <= PG_METRICS_FILE_SIZE, "one page");

/* The reason code of slot I ("OTHER" for the last one), or NULL for a free
   slot; the slot of CODE (PG_METRICS_OTHER for a code this build does not
   know).  */
const char *metrics_reason_name (size_t i);
size_t metrics_reason_slot (const char *code);
/* "allow", "audit", "deny": the decision log's decision= values.  */
const char *metrics_decision_name (size_t d);

/* A mapped counters file.  */
struct pg_metrics
{
  struct pg_metrics_counters *c;
  char *path;
  bool writable;
  bool mapped; /* false: the zeros of a missing or empty file, read-only */
};

enum
{
  /* Create the file when missing (O_CREAT, 0644): the hook does.  */
  PG_METRICS_CREATE = 1 << 0,
  /* Map it for counting and publishing; else read-only.  */
  PG_METRICS_WRITE = 1 << 1,
};

/* Open and map the counters file PATH.  The last component is never
   followed (O_NOFOLLOW); it must be a regular file with one link, owned by
   root (or by this process's user) and not writable by group or others,
   of PG_METRICS_FILE_SIZE bytes (or empty, when it is made that size), its
   magic PG_METRICS_MAGIC or 0.  The directories above are the caller's to
   check (pg_check_trusted_path).  Read-only, a missing file is all zeros
   (returns 0 with M->c pointing at zeros); returns 1 when mapped.  */
int metrics_open (const char *path, int flags, struct pg_metrics *m, pg_error_t *err);
void metrics_close (struct pg_metrics *m);

/* Count one decision: its verdict and the reason codes CODES[0..N) (each
   code once), at NOW; then bump the generation.  Atomic, lock-free.  */
void metrics_count (struct pg_metrics_counters *c, enum pg_verdict v, const char *const *codes, size_t n,
                    int64_t now);

/* A copy of the counters as they are now, for rendering.  */
void metrics_snapshot (const struct pg_metrics_counters *c, struct pg_metrics_counters *out);
/* The Prometheus text exposition (format 0.0.4) of a snapshot: every
   decision and every (decision, reason) pair, zeros included, with HELP
   and TYPE lines.  */
char *metrics_render_text (const struct pg_metrics_counters *snap);
/* The same as JSON: generation, last_decision, decisions, and the reasons
   that are not zero.  */
json_t *metrics_render_json (const struct pg_metrics_counters *snap);

/* The textfile's directory, opened before the hook's sandbox: it must be
   root's (or this process's user's) and not writable by group or others,
   and be reached with no symlink on the way (openat2 RESOLVE_NO_SYMLINKS,
   or a walk with O_NOFOLLOW): then nobody else can plant or replace an
   entry in it, nor make the path lead elsewhere.  The directories above
   may belong to another user (Debian's node_exporter reads
   /var/lib/prometheus/node-exporter, in the prometheus user's
   /var/lib/prometheus): whoever owns them can only swap in another
   directory they already hold, which the checks refuse unless root made
   it.  */
struct pg_metrics_textfile
{
  int dirfd;
  char *path; /* for messages */
  char *name; /* the file's name in the directory ("patchgate.prom") */
  /* Publish at most this often (0: after every decision counted): a
     decision counted sooner is left to the first publisher after the
     interval, or to `patchgate metrics --write-textfile` (PUBLISH_FORCE).  */
  int64_t min_interval_ms;
};
int metrics_textfile_open (const char *path, struct pg_metrics_textfile *t, pg_error_t *err);
void metrics_textfile_close (struct pg_metrics_textfile *t);

/* Publish the counters of M in T (see above): returns 1 when this process
   renamed a file whose counts include every decision counted before the
   call, 0 when it renamed nothing (the lease was held by another
   publisher, which then publishes them, or a file with them was
   published already), -1 on an error (the lease given back).  STALE_MS: a
   lease older than this is taken over (its holder died: every hook is
   gone by its deadline).  Uses openat (O_WRONLY|O_CREAT|O_EXCL), write,
   renameat2 (RENAME_EXCHANGE), renameat and unlinkat relative to T->dirfd
   only.  Without
   PG_METRICS_PUBLISH_FORCE, nothing is rendered when a file with every
   decision counted so far was published already.  */
enum
{
  PG_METRICS_PUBLISH_FORCE = 1 << 0,
};
int metrics_publish (struct pg_metrics *m, const struct pg_metrics_textfile *t, int64_t stale_ms, int flags,
                     pg_error_t *err);
/* Whether a textfile was published less than MIN_INTERVAL_MS ago (a
   clock set back counts as elapsed): a publisher now would leave at once.
   The hook asks before its sandbox, and within the interval prepares no
   publishing at all (no directory, no Landlock, the plain seccomp
   program).  */
bool metrics_published_within (const struct pg_metrics *m, int64_t min_interval_ms);
/* For a signal handler (the hook's deadline): give the lease back if this
   process holds it.  Async-signal-safe.  */
void metrics_lease_release_async (void);

#endif
