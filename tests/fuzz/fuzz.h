/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): a private temp
   tree per process where a harness writes the fuzzed bytes as the file the
   code under test reads (config.json, umoci.json, containers.json...), and
   splitting an input in two at its first NUL byte.  Nothing outside that
   tree is ever read: every path the code could look at is configured into
   it.  */
#ifndef PATCHGATE_FUZZ_H
#define PATCHGATE_FUZZ_H

#include "base/util.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

static char fuzz_root[] = "/tmp/patchgate-fuzz-XXXXXX";

static inline const char *
fuzz_dir (void)
{
  static bool made;
  if (!made)
    {
      if (mkdtemp (fuzz_root) == NULL)
        abort ();
      made = true;
    }
  return fuzz_root;
}

/* mkdir -p of REL below the tree.  */
static inline void
fuzz_mkdir (const char *rel)
{
  cleanup_free char *p = NULL;
  xasprintf (&p, "%s/%s", fuzz_dir (), rel);
  for (char *s = p + strlen (fuzz_dir ()) + 1; *s; s++)
    if (*s == '/')
      {
        *s = '\0';
        mkdir (p, 0755);
        *s = '/';
      }
  mkdir (p, 0755);
}

/* REL below the tree, absolute; caller frees.  */
static inline char *
fuzz_path (const char *rel)
{
  char *p = NULL;
  xasprintf (&p, "%s/%s", fuzz_dir (), rel);
  return p;
}

static inline void
fuzz_write (const char *rel, const uint8_t *data, size_t len)
{
  cleanup_free char *p = fuzz_path (rel);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    abort ();
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n <= 0)
        abort ();
      data += n;
      len -= (size_t) n;
    }
  close (fd);
}

/* DATA split at its first NUL: *A (len *ALEN) before, *B after; no NUL:
   all in A, B empty.  */
static inline void
fuzz_split (const uint8_t *data, size_t len, const uint8_t **a, size_t *alen, const uint8_t **b, size_t *blen)
{
  const uint8_t *nul = memchr (data, 0, len);
  *a = data;
  *alen = nul ? (size_t) (nul - data) : len;
  *b = nul ? nul + 1 : data + len;
  *blen = nul ? len - *alen - 1 : 0;
}

/* A NUL-terminated copy.  */
static inline char *
fuzz_strndup (const uint8_t *data, size_t len)
{
  char *s = xmalloc0 (len + 1);
  memcpy (s, data, len);
  return s;
}

#ifdef PATCHGATE_IMPORT_H
/* One scan importer on bounded JSON (import_parse_json, which allows NUL
   bytes in strings as reports do), then the same document through format
   detection, as patchgate import reads it.  */
static inline int
fuzz_importer (int (*importer) (json_t *doc, struct pg_scan *out, pg_error_t *err), const uint8_t *data,
               size_t len)
{
  cleanup_json json_t *doc = NULL;
  struct pg_scan scan;
  pg_error_t err = NULL;

  if (import_parse_json ((const char *) data, len, "report", false, &doc, NULL, &err) == 0)
    {
      memset (&scan, 0, sizeof (scan));
      /* Like import_parse_report, the caller frees a half-built scan.  */
      importer (doc, &scan, &err);
      pg_scan_free (&scan);
      memset (&scan, 0, sizeof (scan));
      pg_error_release (&err);
      if (import_parse_report (doc, "report", &scan, &err) == 0)
        pg_scan_free (&scan);
    }
  pg_error_release (&err);
  return 0;
}
#endif

#ifdef PATCHGATE_VERSION_H
/* One scheme's version order: two versions split at the first NUL.
   Besides memory safety, the order must be one: A = A, and comparing B
   with A gives the opposite of A with B.  */
static inline int
fuzz_version_order (enum pg_version_scheme scheme, const uint8_t *data, size_t len)
{
  const uint8_t *a, *b;
  size_t alen, blen;
  cleanup_free char *va = NULL;
  cleanup_free char *vb = NULL;
  pg_error_t err = NULL;
  int ab = 0, ba = 0, aa = 0;

  fuzz_split (data, len, &a, &alen, &b, &blen);
  va = fuzz_strndup (a, alen);
  vb = fuzz_strndup (b, blen);
  if (version_compare (scheme, va, vb, &ab, &err) == 0)
    {
      if (version_compare (scheme, vb, va, &ba, &err) < 0 || version_compare (scheme, va, va, &aa, &err) < 0)
        abort (); /* valid one way, invalid the other */
      if (aa != 0 || (ab > 0) != (ba < 0) || (ab == 0) != (ba == 0))
        abort ();
    }
  pg_error_release (&err);
  return 0;
}
#endif

#endif
