/* patchgate: pulling signed policy bundles over HTTPS (libcurl).
 *
 * `patchgate sync URL` fetches URL.sig first, always (64 bytes), and
 * compares it with the signature the active bundle was activated with
 * (the active index's trailer): the same signature is the same bundle (Ed25519
 * is deterministic), so nothing more is fetched or written.  Otherwise it
 * fetches URL, unconditionally, and activates it with bundle_activate().
 * No conditional request is trusted: nginx's ETag and Last-Modified are the
 * file's mtime in seconds and its size, and bundles of one shape have one
 * size, so a bundle published within the second of the last one would be
 * answered 304 for ever.  What the last sync saw is kept in a small JSON
 * state file beside the policy database, "<policy_db>.sync.json".
 */
#ifndef PATCHGATE_SYNC_H
#define PATCHGATE_SYNC_H

#include "bundle/bundle.h"

#define PG_SYNC_DEFAULT_CONNECT_TIMEOUT 10
#define PG_SYNC_DEFAULT_TIMEOUT 300
#define PG_SYNC_DEFAULT_RETRIES 3
#define PG_SYNC_MAX_RETRIES 10
#define PG_MAX_SIG_DOWNLOAD 4096

struct pg_sync_state
{
  char *url;
  /* The signature of the last bundle a sync verified, and its serial: a
     bundle with the active serial that was not activated (re-signed with a
     new key, so "already active") is not fetched again while its signature
     stays.  */
  char *sig_sha256;
  int64_t serial;
  int64_t time; /* when the last sync ran */
  bool ok;
  char *result; /* "activated serial N", "not modified", "error: ..." */
  int64_t last_success;
};
void sync_state_free (struct pg_sync_state *s);
/* "<policy_db>.sync.json"; caller frees.  */
char *sync_state_path (const char *policy_db);
/* A missing file is an empty state (returns 0).  */
int sync_state_load (const char *path, struct pg_sync_state *s, pg_error_t *err);
int sync_state_save (const char *path, const struct pg_sync_state *s, pg_error_t *err);

struct pg_sync_opts
{
  const char *url;
  const char *ca_file; /* NULL: the system's CA store */
  bool allow_http;
  uint64_t max_size;                /* 0: PG_MAX_BUNDLE_SIZE */
  long connect_timeout;             /* seconds */
  long timeout;                     /* seconds, per attempt */
  int retries;                      /* extra attempts after a transient failure */
  unsigned retry_base_ms;           /* first back-off delay; doubles, plus jitter */
  void (*notice) (const char *msg); /* retries and other warnings, or NULL */
  struct pg_activate_opts activate;
};

struct pg_sync_result
{
  bool not_modified; /* URL.sig is the active bundle's: nothing more fetched, nothing written */
  long http_code;
  int attempts;
  int64_t active_serial; /* the serial active before this sync */
  struct pg_activate_result act;
};
void sync_result_free (struct pg_sync_result *r);

/* "URL.sig", with any query string kept after the path.  Refuses schemes
   other than https (and http when ALLOW_HTTP).  */
int sync_check_url (const char *url, bool allow_http, char **sig_url, pg_error_t *err);

/* Fetch, verify and activate; records the outcome in the state file.  The
   caller holds policy_lock.  On error the active database is untouched.  */
int sync_run (const struct pg_sync_opts *o, struct pg_sync_result *r, pg_error_t *err);

#endif
