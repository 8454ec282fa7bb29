/* patchgate: the bundle file format, building, signing and verifying.
 * The format is described in bundle.h and docs/bundles.md.  */
#include "bundle/bundle.h"
#include "rules/policy.h"
#include "base/json.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/digest.h"
#include "index/index.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* ---- small file helpers ---- */

/* The last OpenSSL error as text, and the queue cleared.  */
static const char *
ssl_error (char *buf, size_t size)
{
  unsigned long e = ERR_peek_last_error ();
  if (e == 0)
    snprintf (buf, size, "unknown OpenSSL error");
  else
    ERR_error_string_n (e, buf, size);
  ERR_clear_error ();
  return buf;
}

static void
cleanup_pkeyp (EVP_PKEY **k)
{
  EVP_PKEY_free (*k);
}
#define cleanup_pkey __attribute__ ((cleanup (cleanup_pkeyp)))

static void
cleanup_mdctxp (EVP_MD_CTX **c)
{
  EVP_MD_CTX_free (*c);
}
#define cleanup_mdctx __attribute__ ((cleanup (cleanup_mdctxp)))

static void
hex_encode (const unsigned char *in, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++)
    {
      out[2 * i] = digits[in[i] >> 4];
      out[2 * i + 1] = digits[in[i] & 15];
    }
  out[2 * n] = '\0';
}

/* ---- manifest ---- */

void
bundle_manifest_free (struct pg_bundle_manifest *m)
{
  if (m == NULL)
    return;
  free (m->policy_version);
  free (m->index_build);
  free (m->index_sha256);
  free (m->compression);
  free (m->payload_sha256);
  memset (m, 0, sizeof (*m));
}

json_t *
bundle_manifest_to_json (const struct pg_bundle_manifest *m)
{
  char created[32];
  format_rfc3339 (m->created, created, sizeof (created));
  return json_pack (
      "{s:s, s:i, s:I, s:s, s:I, s:s, s:I, s:I, s:s, s:I, s:s, s:s, s:I, s:s}", "format", "patchgate-bundle",
      "format_version", PG_BUNDLE_FORMAT_VERSION, "serial", (json_int_t) m->serial, "created", created,
      "created_unix", (json_int_t) m->created, "policy_version", m->policy_version, "images",
      (json_int_t) m->images, "index_format", (json_int_t) m->index_format, "index_build", m->index_build,
      "index_size", (json_int_t) m->index_size, "index_sha256", m->index_sha256, "compression",
      m->compression, "payload_size", (json_int_t) m->payload_size, "payload_sha256", m->payload_sha256);
}

static int
manifest_int (json_t *doc, const char *key, int64_t min, int64_t max, int64_t *out, pg_error_t *err)
{
  json_t *v = json_object_get (doc, key);
  if (!json_is_integer (v) || json_integer_value (v) < min || json_integer_value (v) > max)
    return pg_make_error (err, 0, "manifest: `%s` must be an integer from %lld to %lld", key, (long long) min,
                          (long long) max);
  *out = json_integer_value (v);
  return 0;
}

static bool
is_hex (const char *s, size_t n)
{
  if (s == NULL || strlen (s) != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

int
bundle_manifest_parse (const char *text, size_t len, struct pg_bundle_manifest *m, pg_error_t *err)
{
  cleanup_json json_t *doc = NULL;
  const char *format, *sha, *isha, *version, *build, *comp;
  int64_t fv = 0, size = 0, isize = 0;

  memset (m, 0, sizeof (*m));
  if (pg_json_parse (text, len, "manifest", &doc, err) < 0)
    return -1;
  format = pg_json_string (doc, "format");
  if (format == NULL || strcmp (format, "patchgate-bundle") != 0)
    return pg_make_error (err, 0, "manifest: `format` is not \"patchgate-bundle\"");
  if (manifest_int (doc, "format_version", 1, INT32_MAX, &fv, err) < 0)
    return -1;
  if (fv != PG_BUNDLE_FORMAT_VERSION)
    return pg_make_error (err, 0, "manifest: format_version %lld is not supported (this patchgate reads %d)",
                          (long long) fv, PG_BUNDLE_FORMAT_VERSION);
  if (manifest_int (doc, "serial", 1, INT64_MAX, &m->serial, err) < 0
      || manifest_int (doc, "created_unix", 0, INT64_MAX, &m->created, err) < 0
      || manifest_int (doc, "images", 0, INT64_MAX, &m->images, err) < 0
      || manifest_int (doc, "index_format", 1, INT32_MAX, &m->index_format, err) < 0
      || manifest_int (doc, "index_size", 1, (int64_t) PG_MAX_BUNDLE_INDEX, &isize, err) < 0
      || manifest_int (doc, "payload_size", 1, INT64_MAX, &size, err) < 0)
    return -1;
  m->index_size = (uint64_t) isize;
  m->payload_size = (uint64_t) size;
  sha = pg_json_string (doc, "payload_sha256");
  isha = pg_json_string (doc, "index_sha256");
  if (!is_hex (sha, 64) || !is_hex (isha, 64))
    return pg_make_error (err, 0,
                          "manifest: `payload_sha256` and `index_sha256` must be 64 lowercase hex digits");
  build = pg_json_string (doc, "index_build");
  if (!is_hex (build, 16))
    return pg_make_error (err, 0, "manifest: `index_build` must be 16 lowercase hex digits");
  comp = pg_json_string (doc, "compression");
  if (comp == NULL || strcmp (comp, "zstd") != 0)
    return pg_make_error (err, 0, "manifest: `compression` must be \"zstd\"");
  version = pg_json_string (doc, "policy_version");
  if (version == NULL)
    return pg_make_error (err, 0, "manifest: `policy_version` must be a string");
  m->payload_sha256 = xstrdup (sha);
  m->index_sha256 = xstrdup (isha);
  m->index_build = xstrdup (build);
  m->compression = xstrdup (comp);
  m->policy_version = xstrdup (version);
  return 0;
}

/* ---- mapping and checking ---- */

void
bundle_close (struct pg_bundle *b)
{
  if (b == NULL)
    return;
  if (b->data)
    munmap (b->data, b->size);
  free (b->path);
  bundle_manifest_free (&b->manifest);
  memset (b, 0, sizeof (*b));
}

int
bundle_map (const char *path, uint64_t max, struct pg_bundle *b, pg_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  void *p;

  memset (b, 0, sizeof (*b));
  if (fd < 0)
    return pg_make_error (err, errno, "bundle %s: open", path);
  if (fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "bundle %s: stat", path);
  if (!S_ISREG (st.st_mode))
    return pg_make_error (err, 0, "bundle %s: not a regular file", path);
  if (st.st_size == 0)
    return pg_make_error (err, 0, "bundle %s: empty file", path);
  if ((uint64_t) st.st_size > max)
    return pg_make_error (err, 0, "bundle %s: %lld bytes is larger than the limit of %llu bytes", path,
                          (long long) st.st_size, (unsigned long long) max);
  p = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED)
    return pg_make_error (err, errno, "bundle %s: mmap", path);
  b->data = p;
  b->size = (size_t) st.st_size;
  b->path = xstrdup (path);
  return 0;
}

int
bundle_read_signature (const char *path, unsigned char sig[PG_ED25519_SIG_SIZE], pg_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0;

  if (read_all_file (path, 4096, &buf, &len, err) < 0)
    return pg_error_wrap (err, "signature");
  if (len != PG_ED25519_SIG_SIZE)
    return pg_make_error (err, 0,
                          "signature %s: %zu bytes, but a raw Ed25519 signature is %d bytes "
                          "(patchgate bundle sign, or openssl pkeyutl -sign -rawin)",
                          path, len, PG_ED25519_SIG_SIZE);
  memcpy (sig, buf, PG_ED25519_SIG_SIZE);
  return 0;
}

/* Read an Ed25519 key from PEM: the private one to sign, the public one to
   verify.  Private key bytes are wiped from memory once parsed.  */
static int
load_ed25519_key (const char *path, bool private_key, EVP_PKEY **out, pg_error_t *err)
{
  cleanup_free char *pem = NULL;
  size_t len = 0;
  BIO *bio;
  EVP_PKEY *k;
  char ebuf[256];

  if (read_all_file (path, PG_MAX_KEY_SIZE, &pem, &len, err) < 0)
    return -1;
  bio = BIO_new_mem_buf (pem, (int) len);
  if (bio == NULL)
    return pg_make_error (err, 0, "%s: out of memory", path);
  k = private_key ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL)
                  : PEM_read_bio_PUBKEY (bio, NULL, NULL, NULL);
  BIO_free (bio);
  if (private_key)
    OPENSSL_cleanse (pem, len);
  if (k == NULL)
    return pg_make_error (err, 0, "%s: not a PEM %s key: %s", path, private_key ? "private" : "public",
                          ssl_error (ebuf, sizeof (ebuf)));
  if (EVP_PKEY_get_id (k) != EVP_PKEY_ED25519)
    {
      EVP_PKEY_free (k);
      return pg_make_error (
          err, 0, "%s: not an Ed25519 key (make one with openssl genpkey -algorithm ed25519)", path);
    }
  *out = k;
  return 0;
}

/* 1: verifies, 0: does not, -1: the key could not be used.  */
static int
verify_with_key (const char *key_path, const unsigned char *data, size_t len, const unsigned char *sig,
                 size_t sig_len, pg_error_t *err)
{
  cleanup_pkey EVP_PKEY *key = NULL;
  cleanup_mdctx EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  char ebuf[256];
  int r;

  if (ctx == NULL)
    return pg_make_error (err, 0, "out of memory");
  if (load_ed25519_key (key_path, false, &key, err) < 0)
    return -1;
  if (EVP_DigestVerifyInit (ctx, NULL, NULL, NULL, key) != 1)
    return pg_make_error (err, 0, "%s: %s", key_path, ssl_error (ebuf, sizeof (ebuf)));
  r = EVP_DigestVerify (ctx, sig, sig_len, data, len);
  ERR_clear_error ();
  return r == 1 ? 1 : 0;
}

int
bundle_verify_signature (const struct pg_bundle *b, const unsigned char *sig, size_t sig_len,
                         char *const *keys, size_t n_keys, const char **which, pg_error_t *err)
{
  cleanup_free char *problems = NULL;

  if (n_keys == 0)
    return pg_make_error (err, 0, "no trusted_keys configured: refusing an unverifiable bundle");
  for (size_t i = 0; i < n_keys; i++)
    {
      cleanup_error pg_error_t kerr = NULL;
      int r = verify_with_key (keys[i], b->data, b->size, sig, sig_len, &kerr);
      char *n = NULL;
      if (r == 1)
        {
          if (which)
            *which = keys[i];
          return 0;
        }
      xasprintf (&n, "%s%s%s", problems ? problems : "", problems ? "; " : "", r < 0 ? kerr->msg : keys[i]);
      free (problems);
      problems = n;
    }
  return pg_make_error (err, 0, "%s: bad signature: it verifies with none of the %zu trusted key%s (%s)",
                        b->path, n_keys, n_keys == 1 ? "" : "s", problems);
}

static void
sha256_hex (const unsigned char *data, size_t len, char out[65])
{
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_Digest (data, len, md, &mdlen, EVP_sha256 (), NULL);
  hex_encode (md, 32, out);
}

void
bundle_sig_sha256 (const unsigned char sig[PG_ED25519_SIG_SIZE], char out[65])
{
  sha256_hex (sig, PG_ED25519_SIG_SIZE, out);
}

int
bundle_check_payload (struct pg_bundle *b, pg_error_t *err)
{
  static const char magic[] = PG_BUNDLE_MAGIC "\n";
  const size_t mlen = sizeof (magic) - 1;
  const unsigned char *start, *nl;
  size_t limit;
  char sha[65];

  bundle_manifest_free (&b->manifest);
  if (b->size < mlen || memcmp (b->data, magic, mlen) != 0)
    {
      const size_t plen = sizeof (PG_BUNDLE_MAGIC_PREFIX) - 1;
      const unsigned char *eol = memchr (b->data, '\n', b->size < 64 ? b->size : 64);
      /* Another format of ours: say which, so that the admin knows to
         rebuild it rather than suspect the transfer.  */
      if (eol && b->size > plen && memcmp (b->data, PG_BUNDLE_MAGIC_PREFIX, plen) == 0)
        return pg_make_error (err, 0,
                              "bundle %s is of format %.*s%s; this patchgate reads only format %d (the "
                              "compiled decision index): rebuild it with this version's `patchgate bundle "
                              "build`",
                              b->path, (int) (eol - b->data - plen), (const char *) b->data + plen,
                              memcmp (b->data + plen, "1\n", 2) == 0 ? " (a policy database snapshot)" : "",
                              PG_BUNDLE_FORMAT_VERSION);
      return pg_make_error (err, 0, "bundle %s: not a patchgate bundle (no %s header)", b->path,
                            PG_BUNDLE_MAGIC);
    }
  start = b->data + mlen;
  limit = b->size - mlen < PG_MAX_BUNDLE_HEADER ? b->size - mlen : PG_MAX_BUNDLE_HEADER;
  nl = memchr (start, '\n', limit);
  if (nl == NULL)
    return pg_make_error (err, 0, "bundle %s: truncated: the manifest line does not end within %zu bytes",
                          b->path, limit);
  if (bundle_manifest_parse ((const char *) start, (size_t) (nl - start), &b->manifest, err) < 0)
    return pg_error_wrap (err, "bundle %s", b->path);
  b->payload_off = (size_t) (nl + 1 - b->data);
  if (b->manifest.payload_size != b->size - b->payload_off)
    return pg_make_error (err, 0, "bundle %s: the payload is %zu bytes, the manifest says %llu (truncated?)",
                          b->path, b->size - b->payload_off, (unsigned long long) b->manifest.payload_size);
  sha256_hex (b->data + b->payload_off, b->size - b->payload_off, sha);
  if (strcmp (sha, b->manifest.payload_sha256) != 0)
    return pg_make_error (err, 0, "bundle %s: the payload's SHA-256 is %s, the manifest says %s", b->path,
                          sha, b->manifest.payload_sha256);
  return 0;
}

/* ---- building ---- */

static int
write_bundle (const char *out, const char *payload, const struct pg_bundle_manifest *m, pg_error_t *err)
{
  cleanup_json json_t *j = bundle_manifest_to_json (m);
  cleanup_free char *header = NULL;
  cleanup_unlink char *tmp = NULL;
  cleanup_close int fd = -1;
  cleanup_close int in = -1;
  char *line = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);

  if (line == NULL)
    return pg_make_error (err, 0, "manifest: out of memory");
  xasprintf (&header, "%s\n%s\n", PG_BUNDLE_MAGIC, line);
  free (line);
  if (pg_mkstemp_beside (out, &tmp, &fd, err) < 0)
    return -1;
  in = open (payload, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return pg_make_error (err, errno, "%s: open", payload);
  if (fchmod (fd, 0644) < 0)
    return pg_make_error (err, errno, "%s: chmod", tmp);
  if (pg_write_all (fd, header, strlen (header), tmp, err) < 0 || pg_copy_fd (in, fd, tmp, err) < 0)
    return -1;
  if (fsync (fd) < 0)
    return pg_make_error (err, errno, "%s: fsync", tmp);
  if (rename (tmp, out) < 0)
    return pg_make_error (err, errno, "rename %s to %s", tmp, out);
  free (tmp);
  tmp = NULL;
  return pg_fsync_parent (out, err);
}

/* Hash and compress the compiled index INDEX into PAYLOAD.  */
static int
compress_index (const char *index, const char *payload, int payload_fd, struct pg_bundle_manifest *m,
                pg_error_t *err)
{
  cleanup_close int fd = open (index, O_RDONLY | O_CLOEXEC);
  struct stat st;
  void *p;
  char sha[65];
  int r;

  if (fd < 0 || fstat (fd, &st) < 0)
    return pg_make_error (err, errno, "%s", index);
  if (st.st_size == 0 || (uint64_t) st.st_size > PG_MAX_BUNDLE_INDEX)
    return pg_make_error (err, 0, "%s: an index of %lld bytes cannot be bundled", index,
                          (long long) st.st_size);
  p = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED)
    return pg_make_error (err, errno, "%s: mmap", index);
  m->index_size = (uint64_t) st.st_size;
  sha256_hex (p, (size_t) st.st_size, sha);
  m->index_sha256 = xstrdup (sha);
  r = bundle_payload_compress (p, (size_t) st.st_size, payload_fd, payload, &m->payload_size, sha, err);
  munmap (p, (size_t) st.st_size);
  if (r < 0)
    return -1;
  if (m->payload_size > PG_MAX_BUNDLE_SIZE)
    return pg_make_error (err, 0, "the bundle would be larger than the limit of %llu bytes",
                          (unsigned long long) PG_MAX_BUNDLE_SIZE);
  m->payload_sha256 = xstrdup (sha);
  if (fsync (payload_fd) < 0)
    return pg_make_error (err, errno, "%s: fsync", payload);
  return 0;
}

int
bundle_build (const char *db, const char *out, int64_t serial, int64_t now, struct pg_bundle_manifest *mout,
              pg_error_t *err)
{
  struct pg_bundle_manifest m = { 0 };
  cleanup_store pg_store *store = NULL;
  cleanup_unlink char *index = NULL;
  cleanup_unlink char *index_lock = NULL;
  cleanup_unlink char *payload = NULL;
  cleanup_close int ifd = -1;
  cleanup_close int pfd = -1;
  struct pg_index_stats stats;
  char build[17];
  int ret = -1;

  m.serial = serial > 0 ? serial : now;
  m.created = now;
  m.index_format = index_format_version ();
  index_build_id (build);
  m.index_build = xstrdup (build);
  m.compression = xstrdup ("zstd");
  /* Read as every reader does, never written: the bundle is compiled into
     temp files beside OUT, whatever index the database has of its own.  */
  if (store_open (db, PG_STORE_READONLY, &store, err) < 0 || pg_mkstemp_beside (out, &index, &ifd, err) < 0
      || pg_mkstemp_beside (out, &payload, &pfd, err) < 0)
    goto out;
  xasprintf (&index_lock, "%s.lock", index);
  if (index_compile_bundle (store, index, now, m.serial, m.created, &m.policy_version, &stats, err) < 0)
    goto out;
  m.images = (int64_t) stats.images;
  if (compress_index (index, payload, pfd, &m, err) < 0 || write_bundle (out, payload, &m, err) < 0)
    goto out;
  ret = 0;
  if (mout)
    {
      *mout = m;
      memset (&m, 0, sizeof (m));
    }
out:
  bundle_manifest_free (&m);
  return ret;
}

/* ---- signing ---- */

int
bundle_sign_file (const char *key_pem, const char *file, const char *sig_out, pg_error_t *err)
{
  cleanup_pkey EVP_PKEY *key = NULL;
  cleanup_mdctx EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  struct pg_bundle b;
  unsigned char sig[PG_ED25519_SIG_SIZE];
  size_t sig_len = sizeof (sig);
  char ebuf[256];
  int r;

  if (ctx == NULL)
    return pg_make_error (err, 0, "out of memory");
  if (load_ed25519_key (key_pem, true, &key, err) < 0)
    return -1;
  if (bundle_map (file, PG_MAX_BUNDLE_SIZE, &b, err) < 0)
    return -1;
  /* Ed25519 is one-shot (no pre-hash): the whole file is the message.  */
  r = EVP_DigestSignInit (ctx, NULL, NULL, NULL, key) == 1
      && EVP_DigestSign (ctx, sig, &sig_len, b.data, b.size) == 1 && sig_len == sizeof (sig);
  bundle_close (&b);
  if (!r)
    return pg_make_error (err, 0, "signing %s: %s", file, ssl_error (ebuf, sizeof (ebuf)));
  return pg_write_file_atomic (sig_out, sig, sig_len, err);
}
