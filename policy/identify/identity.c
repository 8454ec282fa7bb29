/* The identity a resolver fills in, and its notes: apart from
 * identify/resolve.c, which chooses the resolver, so that the resolvers
 * and their chooser do not refer to each other.  */
#include "identify/engines.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
identity_free (struct pg_identity *id)
{
  free (id->digest);
  free (id->image_ref);
  free (id->namespace);
  free (id->conflict);
  memset (id, 0, sizeof (*id));
}

void
identity_note_conflict (struct pg_identity *id, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;

  if (id->conflict)
    return;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (msg == NULL)
    return;
  /* Parts of it may come from the container: printable ASCII only.  */
  for (char *p = msg; *p; p++)
    if (*p < 0x20 || *p > 0x7e)
      *p = '?';
  id->conflict = msg;
}
