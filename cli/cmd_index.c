/* patchgate index: compile the decision index by hand, or say how it stands.
 * import, policy set and activate recompile it on their own.  */
#include "cli.h"
#include "index/index.h"
#include "base/clock.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate index build [--db FILE] [--index FILE]\n"
                "       patchgate index status [--db FILE] [--index FILE]\n"
                "\n"
                "The decision index is the policy and the database compiled into one read-only\n"
                "file, which the hook and `patchgate check` decide from.  import, policy set and\n"
                "activate recompile it after each change; `build` does it by hand (after a failed\n"
                "recompile, or a database changed by other means), `status` says when it was\n"
                "compiled and whether the database changed since.\n"
                "\n"
                "  --db FILE     policy database (default " PG_DEFAULT_DB ")\n"
                "  --index FILE  the index (default: beside the database, X.db -> X.idx)\n"
                "  -h, --help    show this help\n");
}

static int
index_build (const char *db, const char *index)
{
  cleanup_store pg_store *store = NULL;
  struct pg_index_stats st;
  pg_error_t err = NULL;
  int64_t now;
  int lock = -1, r;

  /* Under the writer lock, as every compile: the file identity the index
     records is then the one of the data it read (store/store.h).  */
  if (pg_now (&now, &err) < 0)
    return cli_fail (&err);
  if (access (db, F_OK) < 0)
    {
      pg_make_error (&err, errno, "policy database %s", db);
      return cli_fail (&err);
    }
  if (pg_writer_lock (db, &lock, &err) < 0)
    return cli_fail (&err);
  r = store_open (db, PG_STORE_READONLY, &store, &err) < 0
      || index_compile (store, index, now, &st, &err) < 0;
  pg_writer_unlock (&lock);
  if (r)
    return cli_fail (&err);
  printf ("compiled %s: %llu images, %llu digests, %.1f MB\n", index, (unsigned long long) st.images,
          (unsigned long long) st.keys, (double) st.bytes / 1e6);
  return 0;
}

static int
index_status (const char *db, const char *index)
{
  struct pg_index_open_opts o = { .db_path = db };
  cleanup_index pg_index *idx = NULL;
  struct pg_index_info info;
  pg_error_t err = NULL;
  char when[32];

  if (index_open (index, &o, &idx, &err) < 0)
    return cli_fail (&err);
  index_get_info (idx, &info);
  format_rfc3339 (info.compiled_at, when, sizeof (when));
  printf ("index:     %s\n", index);
  printf ("compiled:  %s\n", when);
  printf ("images:    %llu (%llu digests), %.1f MB\n", (unsigned long long) info.images,
          (unsigned long long) info.keys, (double) info.size / 1e6);
  if (info.from_bundle)
    {
      format_rfc3339 (info.bundle_created, when, sizeof (when));
      printf ("bundle:    serial %lld, created %s: activated, not compiled here (no database is "
              "held against it)\n",
              (long long) info.bundle_serial, when);
    }
  else if (info.db_matches)
    printf ("database:  %s, unchanged since\n", db);
  else
    {
      format_rfc3339 (info.db_changed_at, when, sizeof (when));
      printf ("database:  %s, changed since (%s): a recompile is due\n", db, when);
    }
  return 0;
}

int
cmd_index (int argc, char **argv)
{
  static const struct option opts[] = { { "db", required_argument, NULL, 'd' },
                                        { "index", required_argument, NULL, 'i' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *db = PG_DEFAULT_DB, *index = NULL;
  cleanup_free char *derived = NULL;
  const char *action;
  int c, pass;

  /* Options before and after the action: `index --db X build`, `index build --db X`.  */
  for (pass = 0, action = NULL; pass < 2; pass++)
    {
      while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
        switch (c)
          {
          case 'd':
            db = optarg;
            break;
          case 'i':
            index = optarg;
            break;
          case 'h':
            usage (stdout);
            return 0;
          default:
            usage (stderr);
            return 2;
          }
      if (pass == 0)
        {
          if (optind >= argc)
            break;
          action = argv[optind++];
        }
    }
  if (action == NULL || optind != argc)
    {
      usage (stderr);
      return 2;
    }
  if (index == NULL)
    index = derived = index_path_for_db (db);
  if (strcmp (action, "build") == 0)
    return index_build (db, index);
  if (strcmp (action, "status") == 0)
    return index_status (db, index);
  usage (stderr);
  return 2;
}
