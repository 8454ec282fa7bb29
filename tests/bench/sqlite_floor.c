/* sqlite_floor: the least a SQLite-backed hook can do.  Reads the OCI state
 * on stdin as floor.c does, opens the policy database read-only, looks one
 * digest up in the digests table (one indexed query), and exits 0 when it is
 * there.  The gap between this and floor is what linking and opening SQLite
 * cost on this machine; the gap between the hook and this is patchgate's.
 *
 *   sqlite_floor DB DIGEST < state.json
 */
#include <sqlite3.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  char buf[4096];
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int found;

  while (read (0, buf, sizeof (buf)) > 0)
    ;
  if (argc != 3 || sqlite3_open_v2 (argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK
      || sqlite3_prepare_v2 (db, "SELECT image FROM digests WHERE digest = ?", -1, &st, NULL) != SQLITE_OK)
    return 2;
  sqlite3_bind_text (st, 1, argv[2], -1, SQLITE_STATIC);
  found = sqlite3_step (st) == SQLITE_ROW;
  sqlite3_finalize (st);
  sqlite3_close (db);
  return found ? 0 : 1;
}
