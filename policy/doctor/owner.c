/* The ownership rule, the hook's own (base/trusted_path.h), as a verdict
   doctor reports.  */
#include "doctor/owner.h"
#include "base/trusted_path.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int
pg_root_only (const char *path, bool *missing, char **why)
{
  cleanup_error pg_error_t err = NULL;
  struct stat st;

  *missing = false;
  *why = NULL;
  if (stat (path, &st) < 0)
    {
      *missing = errno == ENOENT;
      xasprintf (why, "%s: %s", path, strerror (errno));
      return -1;
    }
  if (pg_check_trusted_path (path, "file", 0, &err) == 1)
    return 1;
  *why = xstrdup (err ? err->msg : "refused");
  return 0;
}
