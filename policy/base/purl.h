/* patchgate: package URLs (purl), as scanners name a finding's package
 * (Trivy's PkgIdentifier.PURL, Grype's artifact.purl) and OpenVEX names
 * products and subcomponents ("pkg:oci/alpine@sha256%3A...",
 * "pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64").
 */
#ifndef PATCHGATE_PURL_H
#define PATCHGATE_PURL_H

#include "base/util.h"

struct pg_purl
{
  char *type;      /* lowercase: "oci", "deb", "apk", "rpm", "pypi", ... */
  char *namespace; /* "alpine", "debian", ...; NULL when none */
  char *name;
  char *version;         /* NULL when none; an `epoch` qualifier is folded in ("1:1.2-3") */
  char **qualifier_keys; /* lowercase */
  char **qualifier_values;
  size_t n_qualifiers;
};

/* Parse S ("pkg:type/namespace/name@version?qualifiers#subpath"), every part
   percent-decoded, and normalised as the purl specification says for the
   types whose names are case-insensitive (deb, apk, alpm: namespace and
   name lowercased; rpm: namespace; pypi: name lowercased, `_` as `-`;
   github, bitbucket, composer).  Returns 0, or -1 when S is not a purl (a
   decoded part holding a control character is not one either).  */
int purl_parse (const char *s, struct pg_purl *out);
void purl_clear (struct pg_purl *p);
/* The value of qualifier KEY, or NULL.  */
const char *purl_qualifier (const struct pg_purl *p, const char *key);

#endif
