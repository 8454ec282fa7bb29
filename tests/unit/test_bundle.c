/* Signed policy bundles (format 2: the compiled decision index, zstd):
   build -> sign -> verify -> activate into a temp directory with no
   database, and every way a bundle must be refused (tampered payload, wrong
   key, truncated file or stream, wrong SHA-256s, a decompression bomb, bytes
   after the stream, another build's index, a format-1 bundle, a lower
   serial), each leaving the active index byte-identical; the payload codec
   and the manifest parser on their own.  Real SQLite, OpenSSL, zstd.  */
#include "suite.h"
#include "bundle/bundle.h"
#include "rules/eval.h"
#include "report/report.h"
#include "store/meta.h"
#include "gate/gate.h"
#include "base/file.h"
#include "rules/policy_cache.h"

#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <zstd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define IMG "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define NOW 1800000000

struct fixture
{
  char *dir;
  char *admin_db; /* where bundles are built from */
  char *host_db;  /* the host's policy_db: never created */
  char *host_idx; /* the active index, beside it */
  char *key_a;    /* private keys */
  char *key_b;
  char *pub_a; /* public keys */
  char *pub_b;
};

static char *
path_in (struct fixture *f, const char *name)
{
  char *p = NULL;
  xasprintf (&p, "%s/%s", f->dir, name);
  return p;
}

static void
write_keypair (const char *priv, const char *pub)
{
  EVP_PKEY *k = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");
  FILE *f;
  assert_non_null (k);
  f = fopen (priv, "w");
  assert_non_null (f);
  assert_int_equal (PEM_write_PrivateKey (f, k, NULL, NULL, 0, NULL, NULL), 1);
  fclose (f);
  f = fopen (pub, "w");
  assert_non_null (f);
  assert_int_equal (PEM_write_PUBKEY (f, k), 1);
  fclose (f);
  EVP_PKEY_free (k);
}

static void
make_admin_db (const char *path, const char *policy_version)
{
  cleanup_store pg_store *st = NULL;
  pg_error_t err = NULL;
  struct pg_scan s;
  cleanup_free char *policy = NULL;

  memset (&s, 0, sizeof (s));
  s.scanner = xstrdup ("trivy");
  s.scanned_at = NOW - 86400;
  s.image_id = xstrdup (IMG);
  strv_append (&s.repo_tags, &s.n_repo_tags, "registry.example.com/app:1");
  s.os_family = xstrdup ("debian");
  s.created = NOW - 2 * 86400;
  pg_scan_add_package (&s, "curl", "7.88.1-10+deb12u12");
  xasprintf (&policy,
             "{\"version\": \"%s\", \"defaults\": {\"mode\": \"enforce\", \"max_scan_age\": \"7d\"}}",
             policy_version);
  assert_int_equal (store_open (path, PG_STORE_CREATE, &st, &err), 0);
  assert_int_equal (store_begin (st, true, &err), 0);
  assert_int_equal (store_add_scan (st, &s, NOW - 86400, &err), 1);
  assert_int_equal (policy_store_set (st, policy, policy_version, NOW - 86400, &err), 0);
  assert_int_equal (store_commit (st, &err), 0);
  pg_scan_free (&s);
}

static int
setup (void **state)
{
  struct fixture *f = xmalloc0 (sizeof (*f));
  f->dir = xstrdup ("/tmp/pg-bundle-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  f->admin_db = path_in (f, "admin.db");
  f->host_db = path_in (f, "host/policy.db");
  f->host_idx = path_in (f, "host/policy.idx");
  f->key_a = path_in (f, "a.pem");
  f->key_b = path_in (f, "b.pem");
  f->pub_a = path_in (f, "a.pub.pem");
  f->pub_b = path_in (f, "b.pub.pem");
  write_keypair (f->key_a, f->pub_a);
  write_keypair (f->key_b, f->pub_b);
  make_admin_db (f->admin_db, "v1");
  *state = f;
  return 0;
}

static int
rm_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  nftw (f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (f->dir);
  free (f->admin_db);
  free (f->host_db);
  free (f->host_idx);
  free (f->key_a);
  free (f->key_b);
  free (f->pub_a);
  free (f->pub_b);
  free (f);
  return 0;
}

/* Build and sign NAME with SERIAL and KEY; returns the bundle path.  */
static char *
make_bundle (struct fixture *f, const char *name, int64_t serial, const char *key)
{
  char *path = path_in (f, name);
  cleanup_free char *sig = NULL;
  struct pg_bundle_manifest m;
  pg_error_t err = NULL;

  if (bundle_build (f->admin_db, path, serial, NOW, &m, &err) < 0)
    fail_msg ("bundle_build: %s", err->msg);
  assert_int_equal (m.serial, serial);
  assert_string_equal (m.policy_version, "v1");
  assert_int_equal (m.images, 1);
  bundle_manifest_free (&m);
  xasprintf (&sig, "%s.sig", path);
  if (bundle_sign_file (key, path, sig, &err) < 0)
    fail_msg ("bundle_sign_file: %s", err->msg);
  return path;
}

static int
activate (struct fixture *f, const char *bundle, char *const *keys, size_t n_keys,
          struct pg_activate_result *r, pg_error_t *err)
{
  cleanup_free char *sig = NULL;
  struct pg_activate_opts o = {
    .policy_db = f->host_db,
    .trusted_keys = keys,
    .n_trusted_keys = n_keys,
    .source = bundle,
    .now = NOW,
  };
  xasprintf (&sig, "%s.sig", bundle);
  return bundle_activate (&o, bundle, sig, r, err);
}

static void
activate_ok (struct fixture *f, const char *bundle, int64_t serial)
{
  struct pg_activate_result r;
  pg_error_t err = NULL;
  char *keys[] = { f->pub_a };
  if (activate (f, bundle, keys, 1, &r, &err) < 0)
    fail_msg ("activate %s: %s", bundle, err->msg);
  assert_true (r.activated);
  assert_int_equal (r.manifest.serial, serial);
  assert_string_equal (r.key, f->pub_a);
  activate_result_free (&r);
  {
    /* The index the hook reads is the bundle's, with no database beside
       it to be held against (the hook passes policy_db all the same).  */
    struct pg_index_open_opts o = { .db_path = f->host_db, .max_lag = 1, .wall_now = INT64_MAX / 2 };
    struct pg_index_info info;
    pg_index *idx = NULL;
    if (index_open (f->host_idx, &o, &idx, &err) < 0)
      fail_msg ("the index after activating %s: %s", bundle, err->msg);
    index_get_info (idx, &info);
    assert_true (info.from_bundle);
    assert_int_equal (info.bundle_serial, serial);
    assert_int_equal (info.bundle_created, NOW);
    assert_int_equal (info.bundle_activated_at, NOW);
    index_close (idx);
  }
  assert_int_equal (access (f->host_db, F_OK), -1);
}

/* No temp file (".NAME.XXXXXX") is left beside the index.  */
static void
assert_no_temp_files (struct fixture *f)
{
  cleanup_free char *dir = path_in (f, "host");
  DIR *d = opendir (dir);
  struct dirent *e;
  assert_non_null (d);
  while ((e = readdir (d)) != NULL)
    if (e->d_name[0] == '.' && strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      fail_msg ("a temp file was left: %s/%s", dir, e->d_name);
  closedir (d);
}

/* Activation must fail with a message containing WANT, and leave the active
   index byte-identical (same inode, same content), and no temp file.  */
static void
activate_refused (struct fixture *f, const char *bundle, char *const *keys, size_t n_keys, const char *want)
{
  cleanup_free char *before = NULL;
  cleanup_free char *after = NULL;
  size_t blen = 0, alen = 0;
  struct stat sb, sa;
  struct pg_activate_result r;
  pg_error_t err = NULL;

  assert_int_equal (read_all_file (f->host_idx, 1 << 26, &before, &blen, NULL), 0);
  assert_int_equal (stat (f->host_idx, &sb), 0);
  assert_int_equal (activate (f, bundle, keys, n_keys, &r, &err), -1);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("expected \"%s\" in: %s", want, err->msg);
  pg_error_release (&err);
  activate_result_free (&r);
  assert_int_equal (read_all_file (f->host_idx, 1 << 26, &after, &alen, NULL), 0);
  assert_int_equal (stat (f->host_idx, &sa), 0);
  assert_int_equal (blen, alen);
  assert_memory_equal (before, after, blen);
  assert_int_equal (sb.st_ino, sa.st_ino);
  assert_no_temp_files (f);
}

static void
check_active_serial (struct fixture *f, int64_t want)
{
  int64_t serial = -1;
  pg_error_t err = NULL;
  assert_int_equal (policy_active_serial (f->host_db, NULL, &serial, &err), 0);
  assert_int_equal (serial, want);
}

/* ---- the happy path ---- */

static void
test_build_sign_verify_activate (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *b = make_bundle (f, "b10", 10, f->key_a);
  struct pg_activate_result r;
  pg_error_t err = NULL;
  char *keys[] = { f->pub_b, f->pub_a }; /* rotation: either key may sign */

  check_active_serial (f, 0);
  assert_int_equal (activate (f, b, keys, 2, &r, &err), 0);
  assert_true (r.activated);
  assert_int_equal (r.previous_serial, 0);
  assert_string_equal (r.key, f->pub_a);
  activate_result_free (&r);
  check_active_serial (f, 10);

  /* The activated index decides the image, with no database.  */
  {
    struct pg_context ctx = { .container_id = "c", .digest = IMG, .engine = "runc" };
    cleanup_index pg_index *idx = NULL;
    struct pg_decision d;
    assert_int_equal (index_open (f->host_idx, NULL, &idx, &err), 0);
    assert_int_equal (index_decide (idx, &ctx, NOW, &d, &err), 0);
    assert_int_equal (d.verdict, PG_VERDICT_ALLOW);
    assert_string_equal (d.policy_version, "v1");
    pg_decision_free (&d);
  }
  assert_int_equal (access (f->host_db, F_OK), -1);

  /* The same serial again: nothing to do, nothing rewritten.  */
  {
    struct stat before, after;
    assert_int_equal (stat (f->host_idx, &before), 0);
    assert_int_equal (activate (f, b, keys, 2, &r, &err), 0);
    assert_false (r.activated);
    activate_result_free (&r);
    assert_int_equal (stat (f->host_idx, &after), 0);
    assert_int_equal (before.st_ino, after.st_ino);
  }
  /* A higher serial replaces it.  */
  {
    cleanup_free char *b2 = make_bundle (f, "b11", 11, f->key_a);
    activate_ok (f, b2, 11);
    check_active_serial (f, 11);
  }
}

static void
test_verify_only (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *b = make_bundle (f, "bv", 3, f->key_a);
  cleanup_free char *sigp = NULL;
  unsigned char sig[PG_ED25519_SIG_SIZE];
  struct pg_bundle bundle;
  pg_error_t err = NULL;
  char *keys[] = { f->pub_a };

  xasprintf (&sigp, "%s.sig", b);
  assert_int_equal (bundle_read_signature (sigp, sig, &err), 0);
  assert_int_equal (bundle_map (b, PG_MAX_BUNDLE_SIZE, &bundle, &err), 0);
  assert_int_equal (bundle_verify_signature (&bundle, sig, sizeof (sig), keys, 1, NULL, &err), 0);
  assert_int_equal (bundle_check_payload (&bundle, &err), 0);
  assert_int_equal (bundle.manifest.serial, 3);
  assert_int_equal (bundle.manifest.created, NOW);
  assert_int_equal (bundle.manifest.payload_size, bundle.size - bundle.payload_off);
  bundle_close (&bundle);
  /* A size limit applies before anything is read.  */
  assert_int_equal (bundle_map (b, 100, &bundle, &err), -1);
  assert_non_null (strstr (err->msg, "larger than the limit"));
  pg_error_release (&err);
}

/* ---- refusals ---- */

static void
flip_byte (const char *path, long offset_from_end)
{
  int fd = open (path, O_RDWR);
  unsigned char c;
  off_t end;
  assert_true (fd >= 0);
  end = lseek (fd, 0, SEEK_END);
  assert_int_equal (pread (fd, &c, 1, end - offset_from_end), 1);
  c ^= 0x01;
  assert_int_equal (pwrite (fd, &c, 1, end - offset_from_end), 1);
  close (fd);
}

static void
test_tampered_payload (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *good = make_bundle (f, "good", 5, f->key_a);
  cleanup_free char *bad = make_bundle (f, "bad", 6, f->key_a);
  char *keys[] = { f->pub_a };

  activate_ok (f, good, 5);
  flip_byte (bad, 100); /* one bit, inside the compressed payload */
  activate_refused (f, bad, keys, 1, "bad signature");
  check_active_serial (f, 5);
}

static void
test_wrong_key (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *good = make_bundle (f, "good", 5, f->key_a);
  cleanup_free char *other = make_bundle (f, "other", 6, f->key_b);
  char *keys[] = { f->pub_a };

  activate_ok (f, good, 5);
  activate_refused (f, other, keys, 1, "verifies with none of the 1 trusted key");
  check_active_serial (f, 5);
}

static void
test_truncated (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *good = make_bundle (f, "good", 5, f->key_a);
  cleanup_free char *cut = make_bundle (f, "cut", 6, f->key_a);
  cleanup_free char *cut_sig = NULL;
  pg_error_t err = NULL;
  struct stat st;
  char *keys[] = { f->pub_a };

  activate_ok (f, good, 5);
  assert_int_equal (stat (cut, &st), 0);
  assert_int_equal (truncate (cut, st.st_size - 16), 0);
  /* Cut after signing: the signature no longer matches.  */
  activate_refused (f, cut, keys, 1, "bad signature");
  /* Cut, then signed (say, by a publisher whose upload failed half way):
     the manifest's payload size catches it.  */
  xasprintf (&cut_sig, "%s.sig", cut);
  assert_int_equal (bundle_sign_file (f->key_a, cut, cut_sig, &err), 0);
  activate_refused (f, cut, keys, 1, "truncated");
  /* Cut inside the header.  */
  assert_int_equal (truncate (cut, 40), 0);
  assert_int_equal (bundle_sign_file (f->key_a, cut, cut_sig, &err), 0);
  activate_refused (f, cut, keys, 1, "truncated");
  check_active_serial (f, 5);
}

/* Rewrite the manifest's payload_sha256 (same length), then sign.  */
static void
corrupt_manifest_sha (struct fixture *f, const char *path)
{
  cleanup_free char *buf = NULL;
  cleanup_free char *sig = NULL;
  size_t len = 0;
  char *p;
  int fd;
  pg_error_t err = NULL;

  assert_int_equal (read_all_file (path, 1 << 26, &buf, &len, NULL), 0);
  p = strstr (buf, "\"payload_sha256\":\"");
  assert_non_null (p);
  p += strlen ("\"payload_sha256\":\"");
  p[0] = p[0] == '0' ? '1' : '0';
  fd = open (path, O_WRONLY | O_TRUNC);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, buf, len), (ssize_t) len);
  close (fd);
  xasprintf (&sig, "%s.sig", path);
  assert_int_equal (bundle_sign_file (f->key_a, path, sig, &err), 0);
}

static void
test_wrong_sha256 (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *good = make_bundle (f, "good", 5, f->key_a);
  cleanup_free char *bad = make_bundle (f, "badsha", 6, f->key_a);
  char *keys[] = { f->pub_a };

  activate_ok (f, good, 5);
  corrupt_manifest_sha (f, bad);
  activate_refused (f, bad, keys, 1, "SHA-256");
  check_active_serial (f, 5);
}

static void
test_lower_serial (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *newer = make_bundle (f, "newer", 20, f->key_a);
  cleanup_free char *older = make_bundle (f, "older", 10, f->key_a);
  char *keys[] = { f->pub_a };

  activate_ok (f, newer, 20);
  activate_refused (f, older, keys, 1, "lower than the active serial 20");
  check_active_serial (f, 20);
}

static void
test_no_keys_and_bad_signature_file (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *good = make_bundle (f, "good", 5, f->key_a);
  cleanup_free char *next = make_bundle (f, "next", 6, f->key_a);
  cleanup_free char *sig = NULL;
  char *keys[] = { f->pub_a };
  char *not_keys[] = { f->key_a }; /* a private key file is no public key */
  FILE *fp;

  activate_ok (f, good, 5);
  activate_refused (f, next, keys, 0, "no trusted_keys");
  activate_refused (f, next, not_keys, 1, "not a PEM public key");
  xasprintf (&sig, "%s.sig", next);
  fp = fopen (sig, "a");
  fputs ("x", fp);
  fclose (fp);
  activate_refused (f, next, keys, 1, "65 bytes");
  unlink (sig);
  activate_refused (f, next, keys, 1, "No such file");
  check_active_serial (f, 5);
}

/* ---- forged bundles, correctly signed: the checks after the signature ---- */

struct parts
{
  json_t *manifest;
  unsigned char *payload;
  size_t payload_len;
};

static void
read_parts (const char *path, struct parts *p)
{
  cleanup_free char *buf = NULL;
  size_t len = 0;
  char *nl1, *nl2;
  assert_int_equal (read_all_file (path, 1 << 26, &buf, &len, NULL), 0);
  nl1 = memchr (buf, '\n', len);
  assert_non_null (nl1);
  nl2 = memchr (nl1 + 1, '\n', len - (size_t) (nl1 + 1 - buf));
  assert_non_null (nl2);
  p->manifest = json_loadb (nl1 + 1, (size_t) (nl2 - nl1 - 1), 0, NULL);
  assert_non_null (p->manifest);
  p->payload_len = len - (size_t) (nl2 + 1 - buf);
  p->payload = xmalloc0 (p->payload_len + 1);
  memcpy (p->payload, nl2 + 1, p->payload_len);
}

static void
sha_hex (const void *data, size_t len, char out[65])
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest (data, len, md, &n, EVP_sha256 (), NULL);
  for (size_t i = 0; i < 32; i++)
    snprintf (out + 2 * i, 3, "%02x", md[i]);
}

/* Write P as the bundle PATH (magic MAGIC; the payload's size and SHA-256
   made consistent when FIX_PAYLOAD) and sign it with key A.  */
static void
write_parts (struct fixture *f, const char *path, const char *magic, struct parts *p, bool fix_payload)
{
  cleanup_free char *sig = NULL;
  char *line;
  char sha[65];
  pg_error_t err = NULL;
  FILE *fp;

  if (fix_payload)
    {
      sha_hex (p->payload, p->payload_len, sha);
      json_object_set_new (p->manifest, "payload_sha256", json_string (sha));
      json_object_set_new (p->manifest, "payload_size", json_integer ((json_int_t) p->payload_len));
    }
  line = json_dumps (p->manifest, JSON_COMPACT | JSON_SORT_KEYS);
  fp = fopen (path, "w");
  assert_non_null (fp);
  fprintf (fp, "%s\n%s\n", magic, line);
  assert_int_equal (fwrite (p->payload, 1, p->payload_len, fp), p->payload_len);
  fclose (fp);
  free (line);
  json_decref (p->manifest);
  free (p->payload);
  xasprintf (&sig, "%s.sig", path);
  if (bundle_sign_file (f->key_a, path, sig, &err) < 0)
    fail_msg ("sign: %s", err->msg);
}

enum forgery
{
  FORGE_BOMB,         /* a payload inflating far beyond the declared index_size */
  FORGE_SHORT_STREAM, /* the compressed stream cut, the manifest made to match */
  FORGE_TRAILING,     /* bytes after the stream */
  FORGE_INDEX_SHA,    /* the index's SHA-256 in the manifest is wrong */
  FORGE_BUILD,        /* compiled by another build */
  FORGE_HUGE_INDEX,   /* an index_size beyond tinycdb's limit */
  FORGE_NOT_AN_INDEX, /* a valid stream of bytes that are no index */
  FORGE_V1,           /* a format-1 bundle (a SQLite snapshot) */
};

static char *
forge (struct fixture *f, const char *name, int64_t serial, enum forgery how)
{
  char *path = make_bundle (f, name, serial, f->key_a);
  struct parts p;
  const char *magic = PG_BUNDLE_MAGIC;

  read_parts (path, &p);
  switch (how)
    {
    case FORGE_BOMB:
    case FORGE_NOT_AN_INDEX:
      {
        /* 64 MiB of zeros: a few KB compressed.  */
        size_t n = how == FORGE_BOMB
                       ? (size_t) 64 << 20
                       : (size_t) json_integer_value (json_object_get (p.manifest, "index_size"));
        unsigned char *zeros = xmalloc0 (n);
        size_t cap = ZSTD_compressBound (n);
        free (p.payload);
        p.payload = xmalloc0 (cap);
        p.payload_len = ZSTD_compress (p.payload, cap, zeros, n, 3);
        assert_false (ZSTD_isError (p.payload_len));
        free (zeros);
        if (how == FORGE_NOT_AN_INDEX)
          {
            char sha[65];
            unsigned char *z = xmalloc0 (n);
            sha_hex (z, n, sha);
            free (z);
            json_object_set_new (p.manifest, "index_sha256", json_string (sha));
          }
        break;
      }
    case FORGE_SHORT_STREAM:
      p.payload_len /= 2;
      break;
    case FORGE_TRAILING:
      p.payload = xrealloc (p.payload, p.payload_len + 4);
      memcpy (p.payload + p.payload_len, "junk", 4);
      p.payload_len += 4;
      break;
    case FORGE_INDEX_SHA:
      json_object_set_new (p.manifest, "index_sha256",
                           json_string ("0000000000000000000000000000000000000000"
                                        "000000000000000000000000"));
      break;
    case FORGE_BUILD:
      json_object_set_new (p.manifest, "index_build", json_string ("0123456789abcdef"));
      break;
    case FORGE_HUGE_INDEX:
      json_object_set_new (p.manifest, "index_size", json_integer ((json_int_t) 1 << 40));
      break;
    case FORGE_V1:
      magic = "PATCHGATE-BUNDLE/1";
      json_object_set_new (p.manifest, "format_version", json_integer (1));
      break;
    }
  write_parts (f, path, magic, &p, true);
  return path;
}

static void
test_forged_after_signature (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *good = make_bundle (f, "good", 5, f->key_a);
  char *keys[] = { f->pub_a };
  static const struct
  {
    enum forgery how;
    const char *want;
  } cases[] = {
    { FORGE_BOMB, "inflates beyond" },
    { FORGE_SHORT_STREAM, "ends early (truncated)" },
    { FORGE_TRAILING, "4 bytes after its compressed stream" },
    { FORGE_INDEX_SHA, "the index's SHA-256 is" },
    { FORGE_BUILD, "compiled by another build of patchgate" },
    { FORGE_HUGE_INDEX, "`index_size` must be an integer from 1 to 4294967295" },
    { FORGE_NOT_AN_INDEX, "not a policy index of format 3" },
    { FORGE_V1, "is of format 1 (a policy database snapshot); this patchgate reads only format 2" },
  };

  activate_ok (f, good, 5);
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      char name[32];
      cleanup_free char *bad = NULL;
      snprintf (name, sizeof (name), "forged-%zu", i);
      bad = forge (f, name, 6, cases[i].how);
      activate_refused (f, bad, keys, 1, cases[i].want);
    }
  check_active_serial (f, 5);
}

/* A host that took a bundle: a local database compiled over its index
   would replace the bundle's policy; refused, index unchanged.  */
static void
test_local_compile_refused_over_bundle (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *good = make_bundle (f, "good", 5, f->key_a);
  cleanup_free char *before = NULL;
  cleanup_free char *after = NULL;
  size_t blen = 0, alen = 0;
  pg_error_t err = NULL;

  activate_ok (f, good, 5);
  assert_int_equal (read_all_file (f->host_idx, 1 << 26, &before, &blen, NULL), 0);
  assert_int_equal (index_refresh (f->admin_db, f->host_idx, NOW, NULL, &err), -1);
  if (strstr (err->msg, "activated from the signed bundle serial 5") == NULL)
    fail_msg ("unexpected: %s", err->msg);
  pg_error_release (&err);
  assert_int_equal (read_all_file (f->host_idx, 1 << 26, &after, &alen, NULL), 0);
  assert_int_equal (blen, alen);
  assert_memory_equal (before, after, blen);
  assert_no_temp_files (f);
  /* Removing it is the way back to local compiles.  */
  assert_int_equal (unlink (f->host_idx), 0);
  assert_int_equal (index_refresh (f->admin_db, f->host_idx, NOW, NULL, &err), 0);
  check_active_serial (f, 0);
}

/* ---- the codec and the manifest on their own ---- */

static void
test_payload_codec (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *zpath = path_in (f, "z");
  cleanup_free char *opath = path_in (f, "o");
  cleanup_free char *z = NULL;
  cleanup_free unsigned char *data = xmalloc0 (1 << 20);
  size_t zlen = 0;
  uint64_t n = 0, out = 0;
  char sha[65], sha2[65], want[65];
  pg_error_t err = NULL;
  int fd;

  for (size_t i = 0; i < (1 << 20); i++)
    data[i] = (unsigned char) ((i * 7) % 251 ^ (i >> 12));
  sha_hex (data, 1 << 20, want);
  fd = open (zpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_int_equal (bundle_payload_compress (data, 1 << 20, fd, zpath, &n, sha, &err), 0);
  close (fd);
  assert_int_equal (read_all_file (zpath, 1 << 22, &z, &zlen, NULL), 0);
  assert_int_equal (n, zlen);
  sha_hex (z, zlen, sha2);
  assert_string_equal (sha, sha2);
  /* Exactly the bound: inflates, the same bytes.  */
  fd = open (opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_int_equal (bundle_payload_inflate (z, zlen, fd, opath, 1 << 20, &out, sha, &err), 0);
  close (fd);
  assert_int_equal (out, 1 << 20);
  assert_string_equal (sha, want);
  /* One byte under: refused, and nothing beyond the bound was written.  */
  fd = open (opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_int_equal (bundle_payload_inflate (z, zlen, fd, opath, (1 << 20) - 1, &out, sha, &err), -1);
  assert_non_null (strstr (err->msg, "inflates beyond"));
  pg_error_release (&err);
  assert_true (lseek (fd, 0, SEEK_END) <= (1 << 20) - 1);
  close (fd);
  /* Cut anywhere: refused; a flipped byte: refused (zstd's checksum).  */
  for (size_t cut = 0; cut < zlen; cut += zlen / 7 + 1)
    {
      fd = open (opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      assert_int_equal (bundle_payload_inflate (z, cut, fd, opath, 1 << 20, &out, sha, &err), -1);
      pg_error_release (&err);
      close (fd);
    }
  z[zlen / 2] ^= 0x40;
  fd = open (opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_int_equal (bundle_payload_inflate (z, zlen, fd, opath, 1 << 20, &out, sha, &err), -1);
  pg_error_release (&err);
  close (fd);
}

static void
test_manifest_parse (void **state)
{
  static const char good[]
      = "{\"compression\":\"zstd\",\"created\":\"x\",\"created_unix\":1,\"format\":\"patchgate-bundle\","
        "\"format_version\":2,\"images\":1,\"index_build\":\"0123456789abcdef\",\"index_format\":3,"
        "\"index_sha256\":\"%s\",\"index_size\":%s,\"payload_sha256\":\"%s\",\"payload_size\":10,"
        "\"policy_version\":\"v\",\"serial\":%s}";
  static const char *h = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  static const struct
  {
    const char *isha, *isize, *psha, *serial, *want;
  } cases[] = {
    { NULL, "100", NULL, "7", NULL },
    { NULL, "0", NULL, "7", "index_size" },
    { NULL, "4294967296", NULL, "7", "index_size" },
    { NULL, "\"100\"", NULL, "7", "index_size" },
    { "AAAA", "100", NULL, "7", "index_sha256" },
    { NULL, "100", "zz", "7", "payload_sha256" },
    { NULL, "100", NULL, "0", "serial" },
    { NULL, "100", NULL, "-3", "serial" },
  };
  (void) state;
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      cleanup_free char *text = NULL;
      struct pg_bundle_manifest m;
      pg_error_t err = NULL;
      int r;
      xasprintf (&text, good, cases[i].isha ? cases[i].isha : h, cases[i].isize,
                 cases[i].psha ? cases[i].psha : h, cases[i].serial);
      r = bundle_manifest_parse (text, strlen (text), &m, &err);
      if (cases[i].want == NULL)
        {
          if (r < 0)
            fail_msg ("case %zu: %s", i, err->msg);
          assert_int_equal (m.index_size, 100);
          assert_int_equal (m.serial, 7);
        }
      else
        {
          assert_int_equal (r, -1);
          if (strstr (err->msg, cases[i].want) == NULL)
            fail_msg ("case %zu: expected \"%s\" in: %s", i, cases[i].want, err->msg);
          pg_error_release (&err);
        }
      bundle_manifest_free (&m);
    }
  /* Another compression is no guess.  */
  {
    cleanup_free char *text = NULL;
    struct pg_bundle_manifest m;
    pg_error_t err = NULL;
    char *p;
    xasprintf (&text, good, h, "100", h, "7");
    p = strstr (text, "zstd");
    memcpy (p, "gzip", 4);
    assert_int_equal (bundle_manifest_parse (text, strlen (text), &m, &err), -1);
    assert_non_null (strstr (err->msg, "compression"));
    pg_error_release (&err);
    bundle_manifest_free (&m);
  }
}

/* ---- freshness in the decision ---- */

static void
decide_at (struct fixture *f, int64_t max_age, enum pg_verdict action, int64_t now, struct pg_decision *d)
{
  cleanup_index pg_index *idx = NULL;
  struct pg_context ctx = { .container_id = "c", .digest = IMG, .engine = "runc" };
  pg_error_t err = NULL;
  ctx.max_policy_age = max_age;
  ctx.policy_stale = action;
  /* As the hook opens it: policy_db named, and absent.  */
  struct pg_index_open_opts o = { .db_path = f->host_db };
  if (index_open (f->host_idx, &o, &idx, &err) < 0 || index_decide (idx, &ctx, now, d, &err) < 0)
    fail_msg ("index_decide: %s", err->msg);
}

static bool
has_reason (const struct pg_decision *d, const char *code)
{
  for (size_t i = 0; i < d->n_reasons; i++)
    if (strcmp (d->reasons[i].code, code) == 0)
      return true;
  return false;
}

static void
test_policy_stale (void **state)
{
  struct fixture *f = *state;
  cleanup_free char *b = make_bundle (f, "fresh", 5, f->key_a);
  struct pg_decision d;
  cleanup_free char *line = NULL;
  struct pg_context ctx = { .container_id = "c", .digest = IMG };

  activate_ok (f, b, 5);
  /* Within max_policy_age, and with no limit: allowed.  */
  decide_at (f, 7 * 86400, PG_VERDICT_DENY, NOW + 86400, &d);
  assert_int_equal (d.verdict, PG_VERDICT_ALLOW);
  pg_decision_free (&d);
  decide_at (f, 0, PG_VERDICT_DENY, NOW + 86400, &d);
  assert_int_equal (d.verdict, PG_VERDICT_ALLOW);
  pg_decision_free (&d);
  /* Older: deny, audit, or allow with a log field.  (The scan is 1 day old
     at NOW; 3 days later it is still within the policy's 7d.)  */
  decide_at (f, 2 * 86400, PG_VERDICT_DENY, NOW + 3 * 86400, &d);
  assert_int_equal (d.verdict, PG_VERDICT_DENY);
  assert_true (has_reason (&d, "POLICY_STALE"));
  assert_non_null (strstr (d.reasons[0].detail, "serial 5"));
  pg_decision_free (&d);
  decide_at (f, 2 * 86400, PG_VERDICT_AUDIT, NOW + 3 * 86400, &d);
  assert_int_equal (d.verdict, PG_VERDICT_AUDIT);
  assert_true (has_reason (&d, "POLICY_STALE"));
  pg_decision_free (&d);
  decide_at (f, 2 * 86400, PG_VERDICT_ALLOW, NOW + 3 * 86400, &d);
  assert_int_equal (d.verdict, PG_VERDICT_ALLOW);
  assert_false (has_reason (&d, "POLICY_STALE"));
  line = report_logfmt (&d, &ctx);
  assert_non_null (strstr (line, "policy_stale=allow"));
  pg_decision_free (&d);
}

static void
test_local_db_has_no_age (void **state)
{
  struct fixture *f = *state;
  cleanup_store pg_store *st = NULL;
  struct pg_context ctx = { .container_id = "c", .digest = IMG, .max_policy_age = 1 };
  struct pg_decision d;
  pg_error_t err = NULL;
  int64_t created = 0;

  /* The admin's own database was never activated from a bundle.  */
  assert_int_equal (store_open (f->admin_db, PG_STORE_READONLY, &st, &err), 0);
  assert_int_equal (store_meta_get_int (st, "bundle_created", &created, &err), 0);
  assert_int_equal (decide_image (st, &ctx, NOW + 86400, &d, &err), 0);
  assert_false (has_reason (&d, "POLICY_STALE"));
  pg_decision_free (&d);
}

/* ---- hook config ---- */

static int
load_config (struct fixture *f, const char *json, struct pg_hook_config *cfg, pg_error_t *err)
{
  cleanup_free char *path = path_in (f, "hook.json");
  FILE *fp = fopen (path, "w");
  fputs (json, fp);
  fclose (fp);
  return hook_config_load (path, cfg, err);
}

static void
test_hook_config_fields (void **state)
{
  struct fixture *f = *state;
  struct pg_hook_config cfg;
  pg_error_t err = NULL;

  assert_int_equal (load_config (f, "{}", &cfg, &err), 0);
  assert_int_equal (cfg.n_trusted_keys, 0);
  assert_int_equal (cfg.max_policy_age, 0);
  assert_int_equal (cfg.policy_stale, PG_VERDICT_DENY);
  assert_string_equal (cfg.policy_index, "/var/lib/patchgate/policy.idx");
  assert_int_equal (cfg.index_max_lag, PG_INDEX_DEFAULT_MAX_LAG);
  hook_config_free (&cfg);
  /* The index beside the database, unless named.  */
  assert_int_equal (
      load_config (f, "{\"policy_db\": \"/srv/pg/host.db\", \"index_max_lag\": \"30s\"}", &cfg, &err), 0);
  assert_string_equal (cfg.policy_index, "/srv/pg/host.idx");
  assert_int_equal (cfg.index_max_lag, 30);
  hook_config_free (&cfg);
  assert_int_equal (
      load_config (f, "{\"policy_db\": \"/srv/pg/db\", \"policy_index\": \"/run/pg.idx\"}", &cfg, &err), 0);
  assert_string_equal (cfg.policy_index, "/run/pg.idx");
  hook_config_free (&cfg);
  assert_int_equal (load_config (f,
                                 "{\"trusted_keys\": [\"/etc/patchgate/a.pem\", \"/etc/patchgate/b.pem\"],"
                                 " \"max_policy_age\": \"7d\", \"policy_stale\": \"audit\"}",
                                 &cfg, &err),
                    0);
  assert_int_equal (cfg.n_trusted_keys, 2);
  assert_string_equal (cfg.trusted_keys[1], "/etc/patchgate/b.pem");
  assert_int_equal (cfg.max_policy_age, 7 * 86400);
  assert_int_equal (cfg.policy_stale, PG_VERDICT_AUDIT);
  hook_config_free (&cfg);

  static const struct
  {
    const char *json, *want;
  } bad[] = {
    { "{\"trusted_keys\": \"/a.pem\"}", "trusted_keys" },
    { "{\"trusted_keys\": [\"relative.pem\"]}", "trusted_keys[0]" },
    { "{\"max_policy_age\": \"soon\"}", "max_policy_age" },
    { "{\"policy_stale\": \"maybe\"}", "policy_stale" },
    { "{\"policy_index\": \"relative.idx\"}", "policy_index: must be an absolute path" },
    { "{\"index_max_lag\": \"soon\"}", "index_max_lag" },
    { "{\"index_max_lag\": \"0s\"}", "index_max_lag" },
  };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      assert_int_equal (load_config (f, bad[i].json, &cfg, &err), -1);
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
    cmocka_unit_test_setup_teardown (test_build_sign_verify_activate, setup, teardown),
    cmocka_unit_test_setup_teardown (test_verify_only, setup, teardown),
    cmocka_unit_test_setup_teardown (test_tampered_payload, setup, teardown),
    cmocka_unit_test_setup_teardown (test_wrong_key, setup, teardown),
    cmocka_unit_test_setup_teardown (test_truncated, setup, teardown),
    cmocka_unit_test_setup_teardown (test_wrong_sha256, setup, teardown),
    cmocka_unit_test_setup_teardown (test_lower_serial, setup, teardown),
    cmocka_unit_test_setup_teardown (test_no_keys_and_bad_signature_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_forged_after_signature, setup, teardown),
    cmocka_unit_test_setup_teardown (test_local_compile_refused_over_bundle, setup, teardown),
    cmocka_unit_test_setup_teardown (test_payload_codec, setup, teardown),
    cmocka_unit_test (test_manifest_parse),
    cmocka_unit_test_setup_teardown (test_policy_stale, setup, teardown),
    cmocka_unit_test_setup_teardown (test_local_db_has_no_age, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hook_config_fields, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
