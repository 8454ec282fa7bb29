/* floor: the least a hook can do.  Reads the OCI state on stdin to the end,
 * as every hook must (a runtime may block writing it otherwise), and exits 0.
 * The benchmarks report the hook's times as ratios to this program's, timed
 * in the same run: process creation, exec, dynamic loading of libc and
 * reading stdin are the floor under any hook.
 */
#include <unistd.h>

int
main (void)
{
  char buf[4096];
  while (read (0, buf, sizeof (buf)) > 0)
    ;
  return 0;
}
