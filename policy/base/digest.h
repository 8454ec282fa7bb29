/* patchgate: image digests and references.  */
#ifndef PATCHGATE_DIGEST_H
#define PATCHGATE_DIGEST_H

#include "base/util.h"

bool is_sha256_digest (const char *s); /* "sha256:" + 64 lowercase hex */
bool is_hex64 (const char *s);

/* "sha256:<hex>", a bare 64-hex ID, or "name@sha256:<hex>" to "sha256:<hex>";
   NULL for anything else.  */
char *digest_normalize (const char *s);

/* Split "registry/repo:tag" or "registry/repo@sha256:..." into parts; the
   repository is normalised as containers/image does ("nginx" ->
   "docker.io/library/nginx").  Any out pointer may be NULL.  */
int image_ref_parse (const char *ref, char **repository, char **tag, char **digest);

#endif
