/* cdb_floor: the least a hook reading a constant database can do.  Reads
 * the OCI state on stdin as floor.c does, maps the policy index (tinycdb),
 * looks one digest up, and exits 0 when it is there.  Linked as the hook
 * is (static-pie).  The gap between this and floor is what any
 * index-backed hook pays; the gap between the hook and this is patchgate's
 * (identification, the decision, the sandbox, the log line).
 *
 *   cdb_floor INDEX DIGEST < state.json
 */
#include <cdb.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  char buf[4096];
  struct cdb cdb;
  int fd, found;

  while (read (0, buf, sizeof (buf)) > 0)
    ;
  if (argc != 3 || (fd = open (argv[1], O_RDONLY | O_CLOEXEC)) < 0 || cdb_init (&cdb, fd) < 0)
    return 2;
  found = cdb_find (&cdb, argv[2], (unsigned) strlen (argv[2])) > 0 && cdb_datalen (&cdb) > 0;
  cdb_free (&cdb);
  close (fd);
  return found ? 0 : 1;
}
