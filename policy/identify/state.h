/* patchgate: the OCI state on the hook's stdin, and its bundle's config.json.  */
#ifndef PATCHGATE_STATE_H
#define PATCHGATE_STATE_H

#include "base/util.h"

/* The OCI state the runtime passes on stdin, and the bundle's config.  */
struct pg_oci_state
{
  char *id;
  char *bundle;
  json_t *annotations; /* from <bundle>/config.json, else the state's */
};
/* On failure st->id may be set (the state named its container): free ST
   with oci_state_free either way.  */
int oci_state_parse (const char *text, size_t len, const char *name, struct pg_oci_state *st,
                     pg_error_t *err);
void oci_state_free (struct pg_oci_state *st);

#endif
