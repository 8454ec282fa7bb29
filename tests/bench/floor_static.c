/* floor_static: floor.c linked as the hook is (static-pie): the least a
 * statically linked hook can do.  The benchmarks keep floor.c (dynamic,
 * libc only) as the reference every earlier run used, and show this one
 * beside it, so that what static linking alone buys is not counted as the
 * hook's own.
 */
#include "floor.c"
