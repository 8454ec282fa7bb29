/* patchgate: a bundle's payload, the decision index compressed with zstd
 * (one frame), and back, bounded.  Why zstd: docs/bundles.md ("Size").
 *
 * Inflating is the step that turns a few signed bytes into many: it writes
 * at most MAX bytes (the manifest's index_size, itself bounded) and refuses
 * a stream that would write more, ends early, or carries anything after its
 * frame.  The window is bounded too, so that a frame cannot ask for more
 * memory than the compressor this build uses ever needs.
 */
#include "bundle/bundle.h"
#include "base/file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include <openssl/evp.h>

/* Level 9: within a few per cent of level 19's size on real indexes, at a
   fiftieth of its time (docs/bundles.md, "Size").  */
#define PG_BUNDLE_ZSTD_LEVEL 9
/* 2^24: 16 MiB, more than level 9 uses (2^22 at most); a frame that asks
   for a larger window is refused rather than allocated.  */
#define PG_BUNDLE_ZSTD_WINDOW_LOG 24
#define CHUNK (128 * 1024)

static void
cleanup_cctxp (ZSTD_CCtx **c)
{
  ZSTD_freeCCtx (*c);
}
static void
cleanup_dctxp (ZSTD_DCtx **c)
{
  ZSTD_freeDCtx (*c);
}
static void
cleanup_mdp (EVP_MD_CTX **c)
{
  EVP_MD_CTX_free (*c);
}

static void
digest_hex (EVP_MD_CTX *md, char out[65])
{
  unsigned char d[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex (md, d, &n);
  for (size_t i = 0; i < 32; i++)
    snprintf (out + 2 * i, 3, "%02x", d[i]);
}

int
bundle_payload_compress (const void *data, size_t len, int out_fd, const char *out_name, uint64_t *out_size,
                         char sha256[65], pg_error_t *err)
{
  __attribute__ ((cleanup (cleanup_cctxp))) ZSTD_CCtx *cctx = ZSTD_createCCtx ();
  __attribute__ ((cleanup (cleanup_mdp))) EVP_MD_CTX *md = EVP_MD_CTX_new ();
  cleanup_free unsigned char *buf = xmalloc0 (CHUNK);
  ZSTD_inBuffer in = { data, len, 0 };
  size_t left;

  *out_size = 0;
  if (cctx == NULL || md == NULL || EVP_DigestInit_ex (md, EVP_sha256 (), NULL) != 1)
    return pg_make_error (err, 0, "compressing: out of memory");
  if (ZSTD_isError (ZSTD_CCtx_setParameter (cctx, ZSTD_c_compressionLevel, PG_BUNDLE_ZSTD_LEVEL))
      || ZSTD_isError (ZSTD_CCtx_setParameter (cctx, ZSTD_c_checksumFlag, 1))
      || ZSTD_isError (ZSTD_CCtx_setPledgedSrcSize (cctx, len)))
    return pg_make_error (err, 0, "compressing: zstd parameters refused");
  do
    {
      ZSTD_outBuffer out = { buf, CHUNK, 0 };
      left = ZSTD_compressStream2 (cctx, &out, &in, ZSTD_e_end);
      if (ZSTD_isError (left))
        return pg_make_error (err, 0, "compressing: %s", ZSTD_getErrorName (left));
      if (pg_write_all (out_fd, buf, out.pos, out_name, err) < 0)
        return -1;
      EVP_DigestUpdate (md, buf, out.pos);
      *out_size += out.pos;
    }
  while (left != 0);
  digest_hex (md, sha256);
  return 0;
}

int
bundle_payload_inflate (const void *data, size_t len, int out_fd, const char *out_name, uint64_t max,
                        uint64_t *out_size, char sha256[65], pg_error_t *err)
{
  __attribute__ ((cleanup (cleanup_dctxp))) ZSTD_DCtx *dctx = ZSTD_createDCtx ();
  __attribute__ ((cleanup (cleanup_mdp))) EVP_MD_CTX *md = EVP_MD_CTX_new ();
  cleanup_free unsigned char *buf = xmalloc0 (CHUNK);
  ZSTD_inBuffer in = { data, len, 0 };
  size_t r = 1;

  *out_size = 0;
  if (dctx == NULL || md == NULL || EVP_DigestInit_ex (md, EVP_sha256 (), NULL) != 1)
    return pg_make_error (err, 0, "decompressing: out of memory");
  if (ZSTD_isError (ZSTD_DCtx_setParameter (dctx, ZSTD_d_windowLogMax, PG_BUNDLE_ZSTD_WINDOW_LOG)))
    return pg_make_error (err, 0, "decompressing: zstd parameters refused");
  /* One frame: r is 0 exactly when it is complete (checksum verified).  */
  while (r != 0)
    {
      ZSTD_outBuffer out = { buf, CHUNK, 0 };
      size_t before = in.pos;
      r = ZSTD_decompressStream (dctx, &out, &in);
      if (ZSTD_isError (r))
        return pg_make_error (err, 0, "the payload does not decompress: %s", ZSTD_getErrorName (r));
      if (out.pos > max - *out_size)
        return pg_make_error (err, 0,
                              "the payload inflates beyond %llu bytes, the index size its manifest "
                              "declares: refused (a decompression bomb?)",
                              (unsigned long long) max);
      if (pg_write_all (out_fd, buf, out.pos, out_name, err) < 0)
        return -1;
      EVP_DigestUpdate (md, buf, out.pos);
      *out_size += out.pos;
      /* No progress with input left would loop forever; with none left
         and the frame unfinished, the payload was cut.  */
      if (r != 0 && out.pos == 0 && in.pos == before)
        return pg_make_error (err, 0, "the payload's compressed stream ends early (truncated)");
    }
  if (in.pos != in.size)
    return pg_make_error (err, 0, "the payload has %zu bytes after its compressed stream", in.size - in.pos);
  digest_hex (md, sha256);
  return 0;
}
