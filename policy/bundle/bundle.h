/* patchgate: signed policy bundles.
 *
 * A bundle is one file: a header line, a manifest line and the payload,
 * the decision index (index/index.h) compiled on the building host,
 * compressed with zstd:
 *
 *   PATCHGATE-BUNDLE/2\n
 *   {"format":"patchgate-bundle","format_version":2,"serial":..., ...}\n
 *   <payload_size bytes: one zstd frame of index_size bytes>
 *
 * The manifest (second line) is compact JSON of at most PG_MAX_BUNDLE_HEADER
 * bytes: serial (strictly increasing), created (RFC 3339), created_unix,
 * policy_version, images, index_format and index_build (the index format
 * and build fingerprint it was compiled by: only the same build reads it),
 * index_size and index_sha256 (the index, uncompressed), compression
 * ("zstd"), payload_size and payload_sha256 (the bytes in the file).
 * FILE.sig is the raw 64-byte Ed25519 signature over every byte of FILE, as
 * `openssl pkeyutl -sign -rawin -inkey KEY.pem -in FILE` prints it.
 *
 * Activation verifies the signature against the hook config's trusted keys,
 * then the manifest and the payload's SHA-256, then that the serial is
 * higher than the active index's and the index is this build's, then
 * decompresses it (bounded by index_size) into a temp file beside the
 * hook config's policy_index, checks its SHA-256 and that it opens as an
 * index, stamps it with the signature it was verified with, fsyncs and
 * renames it into place, and fsyncs the directory.  The database on the
 * host is not touched: the hook decides from the index alone.
 *
 * Format 1 (a SQLite snapshot) is refused by name: patchgate is pre-1.0.
 */
#ifndef PATCHGATE_BUNDLE_H
#define PATCHGATE_BUNDLE_H

#include "base/file.h"
#include "store/store.h"

#define PG_BUNDLE_MAGIC_PREFIX "PATCHGATE-BUNDLE/"
#define PG_BUNDLE_MAGIC "PATCHGATE-BUNDLE/2"
#define PG_BUNDLE_FORMAT_VERSION 2
#define PG_MAX_BUNDLE_HEADER (64u << 10)
#define PG_MAX_BUNDLE_SIZE ((uint64_t) 1 << 30)
/* The largest index a payload may declare (and inflate to): tinycdb's
   limit on the index itself.  */
#define PG_MAX_BUNDLE_INDEX 0xffffffffULL
#define PG_MAX_KEY_SIZE (64u << 10)
#define PG_ED25519_SIG_SIZE 64

struct pg_bundle_manifest
{
  int64_t serial;
  int64_t created;
  char *policy_version;
  int64_t images;
  int64_t index_format;
  char *index_build;   /* 16 lowercase hex */
  uint64_t index_size; /* uncompressed */
  char *index_sha256;  /* 64 lowercase hex */
  char *compression;   /* "zstd" */
  uint64_t payload_size;
  char *payload_sha256; /* 64 lowercase hex */
};
void bundle_manifest_free (struct pg_bundle_manifest *m);
/* The manifest as the file carries it (bundle verify prints it).  */
json_t *bundle_manifest_to_json (const struct pg_bundle_manifest *m);

/* The payload codec (payload.c): compress DATA into OUT_FD (its SHA-256
   and size), and inflate DATA into OUT_FD, refusing to write more than MAX
   bytes, a stream cut short and bytes after it.  */
int bundle_payload_compress (const void *data, size_t len, int out_fd, const char *out_name,
                             uint64_t *out_size, char sha256[65], pg_error_t *err);
int bundle_payload_inflate (const void *data, size_t len, int out_fd, const char *out_name, uint64_t max,
                            uint64_t *out_size, char sha256[65], pg_error_t *err);
/* Parse the manifest line TEXT (LEN bytes) into *M.  */
int bundle_manifest_parse (const char *text, size_t len, struct pg_bundle_manifest *m, pg_error_t *err);

/* Compile DB into the bundle OUT (written to a temp file beside it, then
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
  const char *policy_db;    /* names the sync lock and state files; never opened */
  const char *policy_index; /* the index activated; NULL: beside policy_db */
  char *const *trusted_keys;
  size_t n_trusted_keys;
  const char *source; /* URL or path, for messages */
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

/* Verify BUNDLE_PATH with SIG_PATH and make its index the active one (one
   rename under the index's lock, index_lock).  On any error the active
   index is untouched.  The caller holds policy_lock.  */
int bundle_activate (const struct pg_activate_opts *o, const char *bundle_path, const char *sig_path,
                     struct pg_activate_result *res, pg_error_t *err);

/* The serial a new bundle must beat on this host: the active index's when
   it came from a bundle, or, on a host that activated format-1 bundles,
   the database's (meta.bundle_serial), whichever is higher; 0: none.
   *SIG_SHA256 (may be NULL; the caller frees) gets the signature it was
   activated with (bundle_sig_sha256), NULL when unknown.  POLICY_INDEX
   NULL: beside POLICY_DB.  */
int policy_active_bundle (const char *policy_db, const char *policy_index, int64_t *serial, char **sig_sha256,
                          pg_error_t *err);
int policy_active_serial (const char *policy_db, const char *policy_index, int64_t *serial, pg_error_t *err);

/* One sync or activate at a time per policy database: an flock on
   "<policy_db>.sync.lock", held from the fetch to the activation (which
   takes the index's lock besides).  *fd is closed by the caller
   (cleanup_close).  */
int policy_lock (const char *policy_db, int *fd, pg_error_t *err);

/* What the active index and the sync state file say about the active
   bundle, for `patchgate status`.  */
struct pg_bundle_info
{
  bool from_bundle;
  int64_t serial;
  int64_t created;
  int64_t activated_at;
  char *sig_sha256;
  /* From the sync state file "<policy_db>.sync.json", when present.  */
  bool has_sync;
  char *sync_url;
  char *sync_result;
  int64_t sync_time;
  bool sync_ok;
};
void bundle_info_free (struct pg_bundle_info *bi);
#define cleanup_bundle_info __attribute__ ((cleanup (bundle_info_free)))
int bundle_info_read (const char *db_path, const char *index_path, struct pg_bundle_info *bi,
                      pg_error_t *err);
void bundle_info_to_json (const struct pg_bundle_info *bi, int64_t now, json_t *obj);

#endif
