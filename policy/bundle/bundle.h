/* patchgate: signed policy bundles.
 *
 * A bundle is one file: a header and the payload, a consistent snapshot of
 * the policy database (SQLite's VACUUM INTO), uncompressed:
 *
 *   PATCHGATE-BUNDLE/1\n
 *   {"format":"patchgate-bundle","format_version":1,"serial":..., ...}\n
 *   <payload_size bytes of SQLite database>
 *
 * The manifest (second line) is compact JSON of at most PG_MAX_BUNDLE_HEADER
 * bytes: serial (strictly increasing), created (RFC 3339), created_unix,
 * policy_version, schema_version, images, payload_size and payload_sha256
 * (hex).  FILE.sig is the raw 64-byte Ed25519 signature over every byte of
 * FILE, as `openssl pkeyutl -sign -rawin -inkey KEY.pem -in FILE` prints it.
 *
 * Activation verifies the signature against the hook config's trusted keys,
 * then the manifest's SHA-256 of the payload, then that the serial is higher
 * than the active one, and replaces the content of the policy database in
 * one transaction under the writer lock (store_edit_replace: the payload in
 * a temp file beside it, copied in by SQLite's backup API, in place, as
 * every writer changes the database).  The activated
 * database records the bundle in its meta table (bundle_serial,
 * bundle_created, bundle_sig_sha256, ...), which the hook's freshness
 * check and sync read.
 */
#ifndef PATCHGATE_BUNDLE_H
#define PATCHGATE_BUNDLE_H

#include "base/file.h"
#include "store/store.h"

#define PG_BUNDLE_MAGIC "PATCHGATE-BUNDLE/1"
#define PG_BUNDLE_FORMAT_VERSION 1
#define PG_MAX_BUNDLE_HEADER (64u << 10)
#define PG_MAX_BUNDLE_SIZE ((uint64_t) 1 << 30)
#define PG_MAX_KEY_SIZE (64u << 10)
#define PG_ED25519_SIG_SIZE 64

struct pg_bundle_manifest
{
  int64_t serial;
  int64_t created;
  char *policy_version;
  int schema_version;
  int64_t images;
  uint64_t payload_size;
  char *payload_sha256; /* 64 lowercase hex */
};
void bundle_manifest_free (struct pg_bundle_manifest *m);

/* Snapshot DB into the bundle OUT (written to a temp file beside it, then
   renamed).  SERIAL <= 0 means NOW.  Fills *m when not NULL.  */
int bundle_build (const char *db, const char *out, int64_t serial, int64_t now, struct pg_bundle_manifest *m,
                  pg_error_t *err);

/* Sign FILE with the Ed25519 private key in KEY_PEM; writes SIG_OUT.  */
int bundle_sign_file (const char *key_pem, const char *file, const char *sig_out, pg_error_t *err);

/* A bundle file mapped into memory (read only).  */
struct pg_bundle
{
  char *path;
  unsigned char *data;
  size_t size;
  size_t payload_off;
  struct pg_bundle_manifest manifest;
};
void bundle_close (struct pg_bundle *b);

/* Map PATH, refusing files larger than MAX bytes.  Nothing is trusted yet.  */
int bundle_map (const char *path, uint64_t max, struct pg_bundle *b, pg_error_t *err);
/* Check SIG (SIG_LEN bytes) over the mapped bytes against each PEM public
   key in KEYS; *which (may be NULL) gets the key that verified.  */
int bundle_verify_signature (const struct pg_bundle *b, const unsigned char *sig, size_t sig_len,
                             char *const *keys, size_t n_keys, const char **which, pg_error_t *err);
/* Parse the header into b->manifest and check the payload's size and
   SHA-256 against it.  */
int bundle_check_payload (struct pg_bundle *b, pg_error_t *err);
/* Read a detached signature file (exactly 64 bytes).  */
int bundle_read_signature (const char *path, unsigned char sig[PG_ED25519_SIG_SIZE], pg_error_t *err);
/* The SHA-256 of a signature's bytes, hex: what activation records in
   meta.bundle_sig_sha256 and sync compares.  Ed25519 signatures are
   deterministic, so one bundle signed by one key always has the same.  */
void bundle_sig_sha256 (const unsigned char sig[PG_ED25519_SIG_SIZE], char out[65]);

struct pg_activate_opts
{
  const char *policy_db;
  const char *policy_index; /* recompiled after activation; NULL: beside policy_db */
  char *const *trusted_keys;
  size_t n_trusted_keys;
  const char *source; /* URL or path, recorded in meta.bundle_source */
  uint64_t max_size;  /* 0: PG_MAX_BUNDLE_SIZE */
  int64_t now;
};

struct pg_activate_result
{
  bool activated;          /* false: the same serial was already active */
  int64_t previous_serial; /* 0: none */
  char *key;               /* the trusted key that verified the signature */
  char sig_sha256[65];     /* bundle_sig_sha256 of the signature */
  struct pg_bundle_manifest manifest;
};
void activate_result_free (struct pg_activate_result *r);

/* Verify BUNDLE_PATH with SIG_PATH and make it the policy database (replaced under
   the writer lock as every change is, store/store.h), then
   recompile the policy index from it (index/index.h).  On any error before
   the database is replaced, the active one is untouched; an error of the
   recompile comes after it (res->activated is true).  The caller holds
   policy_lock.  */
int bundle_activate (const struct pg_activate_opts *o, const char *bundle_path, const char *sig_path,
                     struct pg_activate_result *res, pg_error_t *err);

/* The serial of the active database at PATH: 0 when it does not exist or
   was never activated from a bundle.  */
int policy_active_serial (const char *path, int64_t *serial, pg_error_t *err);
/* The same, and *SIG_SHA256 (may be NULL; the caller frees) the signature
   it was activated with (bundle_sig_sha256), NULL when unknown (never
   activated, or by a patchgate that did not record it).  */
int policy_active_bundle (const char *path, int64_t *serial, char **sig_sha256, pg_error_t *err);

/* One sync or activate at a time per policy database: an flock on
   "<policy_db>.sync.lock", held from the fetch to the activation (which
   takes the writer lock, "<policy_db>.lock", besides).  *fd is closed by
   the caller (cleanup_close).  */
int policy_lock (const char *policy_db, int *fd, pg_error_t *err);

/* What the meta table and the sync state file say about the active bundle,
   for `patchgate status`.  */
struct pg_bundle_info
{
  bool from_bundle;
  int64_t serial;
  int64_t created;
  int64_t activated_at;
  char *source;
  char *policy_version;
  /* From the sync state file "<policy_db>.sync.json", when present.  */
  bool has_sync;
  char *sync_url;
  char *sync_result;
  int64_t sync_time;
  bool sync_ok;
};
void bundle_info_free (struct pg_bundle_info *bi);
#define cleanup_bundle_info __attribute__ ((cleanup (bundle_info_free)))
/* Read inside the caller's read transaction.  */
int bundle_info_read (pg_store *store, const char *db_path, struct pg_bundle_info *bi, pg_error_t *err);
void bundle_info_to_json (const struct pg_bundle_info *bi, int64_t now, json_t *obj);

#endif
