/* Changing the live database by copy and rename (store/store.h,
   base/replace.h): file modes, what an abandoned or killed writer leaves,
   writers taking turns, a legacy hot journal, and readers that neither
   lock nor see half a change.  */
#include "suite.h"
#include "store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static const char *const POLICY_A = "{\"version\": \"A\", \"defaults\": {}}";
static const char *const POLICY_B = "{\"version\": \"B\", \"defaults\": {}}";

static void
set_policy (const char *db, const char *json, const char *version)
{
  cleanup_store_edit struct pg_store_edit e = PG_STORE_EDIT_INIT;
  pg_error_t err = NULL;

  if (store_edit_begin (db, &e, &err) < 0)
    fail_msg ("store_edit_begin: %s", err->msg);
  assert_int_equal (store_begin (e.store, true, &err), 0);
  assert_int_equal (store_set_policy (e.store, json, version, 1000, &err), 0);
  assert_int_equal (store_commit (e.store, &err), 0);
  if (store_edit_commit (&e, &err) < 0)
    fail_msg ("store_edit_commit: %s", err->msg);
}

/* The policy version a reader sees, or NULL.  */
static char *
policy_version (pg_store *st)
{
  char *json = NULL, *version = NULL;
  int64_t at = 0;
  pg_error_t err = NULL;

  assert_int_equal (store_begin (st, false, &err), 0);
  assert_true (store_get_policy (st, &json, &version, &at, &err) >= 0);
  store_rollback (st);
  free (json);
  return version;
}

static char *
read_version (const char *db)
{
  cleanup_store pg_store *st = NULL;
  pg_error_t err = NULL;
  if (store_open (db, PG_STORE_READONLY, &st, &err) < 0)
    fail_msg ("store_open: %s", err->msg);
  return policy_version (st);
}

static char *
file_bytes (const char *path, size_t *len)
{
  char *buf = NULL;
  assert_int_equal (read_all_file (path, 1 << 28, &buf, len, NULL), 0);
  return buf;
}

/* The names in DIR starting with PREFIX.  */
static size_t
count_prefixed (const char *dir, const char *prefix)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  size_t n = 0;
  assert_non_null (d);
  while ((e = readdir (d)))
    n += strncmp (e->d_name, prefix, strlen (prefix)) == 0;
  closedir (d);
  return n;
}

/* Every directory made, removed when the group ends.  */
static char **made;
static size_t n_made;

static char *
temp_dir (void)
{
  char *dir = xstrdup ("/tmp/pg-edit-XXXXXX");
  assert_non_null (mkdtemp (dir));
  strv_append (&made, &n_made, dir);
  return dir;
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
remove_made (void **state)
{
  for (size_t i = 0; i < n_made; i++)
    nftw (made[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  strv_free (made, n_made);
  return 0;
}

static void
test_new_database_modes (void **state)
{
  cleanup_free char *top = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *v = NULL;
  struct stat st;

  xasprintf (&dir, "%s/lib", top);
  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (stat (dir, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  assert_int_equal (stat (db, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  v = read_version (db);
  assert_string_equal (v, "A");
  /* Nothing but the database and the writers' lock file.  */
  assert_int_equal (count_prefixed (dir, "."), 2);
  assert_int_equal (count_prefixed (dir, "policy.db"), 2);
}

/* A reader that opened the old file keeps reading the old file, whole; a
   writer that never commits leaves the live file and nothing else.  */
static void
test_readers_and_abandoned_writers (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *before = NULL;
  cleanup_free char *after = NULL;
  cleanup_free char *v1 = NULL;
  cleanup_free char *v2 = NULL;
  cleanup_free char *v3 = NULL;
  cleanup_store pg_store *old_reader = NULL;
  pg_error_t err = NULL;
  size_t before_len = 0, after_len = 0;
  struct stat st1, st2;

  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (store_open (db, PG_STORE_READONLY, &old_reader, &err), 0);
  set_policy (db, POLICY_B, "B");
  v1 = policy_version (old_reader);
  assert_string_equal (v1, "A");
  v2 = read_version (db);
  assert_string_equal (v2, "B");

  before = file_bytes (db, &before_len);
  assert_int_equal (stat (db, &st1), 0);
  {
    cleanup_store_edit struct pg_store_edit e = PG_STORE_EDIT_INIT;
    assert_int_equal (store_edit_begin (db, &e, &err), 0);
    assert_int_equal (count_prefixed (dir, ".policy.db.new."), 1);
    assert_int_equal (store_begin (e.store, true, &err), 0);
    assert_int_equal (store_set_policy (e.store, POLICY_A, "A", 2000, &err), 0);
    assert_int_equal (store_commit (e.store, &err), 0);
    /* An open transaction is never renamed into place.  */
    assert_int_equal (store_begin (e.store, true, &err), 0);
    assert_int_equal (store_edit_commit (&e, &err), -1);
    assert_non_null (strstr (err->msg, "still open"));
    pg_error_release (&err);
    store_rollback (e.store);
  }
  after = file_bytes (db, &after_len);
  assert_int_equal (stat (db, &st2), 0);
  assert_int_equal (before_len, after_len);
  assert_memory_equal (before, after, before_len);
  assert_true (st1.st_ino == st2.st_ino);
  v3 = read_version (db);
  assert_string_equal (v3, "B");
  assert_int_equal (count_prefixed (dir, ".policy.db.new."), 0);
}

/* Under the lock whatever a killed writer left is swept; a sync's
   download beside the database (another name) is not.  */
static void
test_leftovers_swept (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  const char *names[] = { ".policy.db.new.AAAAAA", ".policy.db.new.AAAAAA-journal", ".policy.db.BBBBBB" };

  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  for (size_t i = 0; i < 3; i++)
    {
      cleanup_free char *p = NULL;
      int fd;
      xasprintf (&p, "%s/%s", dir, names[i]);
      fd = open (p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      assert_true (fd >= 0);
      assert_int_equal (write (fd, "x", 1), 1);
      close (fd);
    }
  set_policy (db, POLICY_B, "B");
  assert_int_equal (count_prefixed (dir, ".policy.db.new."), 0);
  assert_int_equal (count_prefixed (dir, ".policy.db.BBBBBB"), 1);
}

/* The mode and group an admin gave the database stay; group or world write
   never does, and the file is root's again.  */
static void
test_mode_and_group_kept (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  struct stat st;

  if (geteuid () != 0)
    fail_msg ("this test sets owners: run it as root");
  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (chmod (db, 0640), 0);
  assert_int_equal (chown (db, 0, 4), 0);
  set_policy (db, POLICY_B, "B");
  assert_int_equal (stat (db, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0640);
  assert_int_equal (st.st_gid, 4);
  assert_int_equal (chmod (db, 0666), 0);
  assert_int_equal (chown (db, 65534, 4), 0);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (stat (db, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0644);
  assert_int_equal (st.st_uid, 0);
  assert_int_equal (st.st_gid, 4);
}

/* Two writers: the second waits for the first and builds on its result,
   so neither change is lost.  */
static void
test_writers_take_turns (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *v = NULL;
  struct timespec t0, t1;
  int p[2], status = 0;
  char c;
  pid_t pid;

  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (pipe (p), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct pg_store_edit e = PG_STORE_EDIT_INIT;
      pg_error_t err = NULL;
      struct timespec pause = { 0, 300 * 1000 * 1000 };
      if (store_edit_begin (db, &e, &err) < 0)
        _exit (1);
      if (write (p[1], "x", 1) != 1)
        _exit (1);
      nanosleep (&pause, NULL);
      if (store_begin (e.store, true, &err) < 0 || store_set_policy (e.store, POLICY_B, "B", 1, &err) < 0
          || store_commit (e.store, &err) < 0 || store_edit_commit (&e, &err) < 0)
        _exit (1);
      store_edit_end (&e);
      _exit (0);
    }
  close (p[1]);
  assert_int_equal (read (p[0], &c, 1), 1);
  close (p[0]);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  {
    cleanup_store_edit struct pg_store_edit e = PG_STORE_EDIT_INIT;
    pg_error_t err = NULL;
    assert_int_equal (store_edit_begin (db, &e, &err), 0);
    clock_gettime (CLOCK_MONOTONIC, &t1);
    /* The first writer's change is in this one's copy.  */
    v = policy_version (e.store);
    assert_string_equal (v, "B");
    assert_int_equal (store_edit_commit (&e, &err), 0);
  }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  assert_true ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 150);
}

/* A writer from before the rename scheme, killed after its cache spilled,
   left a hot journal beside the live file.  The next writer rolls it back
   in place before copying, so that it is never applied to the copy.  */
static void
test_legacy_hot_journal_recovered (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *journal = NULL;
  cleanup_free char *v = NULL;
  struct stat st;
  int status = 0;
  pid_t pid;

  xasprintf (&db, "%s/policy.db", dir);
  xasprintf (&journal, "%s-journal", db);
  set_policy (db, POLICY_A, "A");
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      sqlite3 *h = NULL;
      if (sqlite3_open (db, &h) != SQLITE_OK
          || sqlite3_exec (h,
                           "PRAGMA cache_size = 8; BEGIN; UPDATE policy SET version = 'torn';"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
                           " INSERT INTO meta SELECT 'k' || i, hex(randomblob(200)) FROM n;",
                           NULL, NULL, NULL)
                 != SQLITE_OK)
        _exit (1);
      _exit (0); /* killed: no COMMIT, no ROLLBACK */
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  assert_int_equal (stat (journal, &st), 0);
  assert_true (st.st_size > 0);

  set_policy (db, POLICY_B, "B");
  assert_true (stat (journal, &st) < 0);
  v = read_version (db);
  assert_string_equal (v, "B");
  {
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal (sqlite3_open_v2 (db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal (sqlite3_prepare_v2 (h, "SELECT count(*) FROM meta WHERE key LIKE 'k%'", -1, &s, NULL),
                      SQLITE_OK);
    assert_int_equal (sqlite3_step (s), SQLITE_ROW);
    assert_int_equal (sqlite3_column_int (s, 0), 0);
    sqlite3_finalize (s);
    sqlite3_close (h);
  }
}

/* Readers open the live file immutable: another connection's exclusive
   lock on it is nothing to them.  */
static void
test_reader_ignores_locks (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *v = NULL;
  sqlite3 *h = NULL;

  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (sqlite3_open (db, &h), SQLITE_OK);
  assert_int_equal (sqlite3_exec (h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
  v = read_version (db);
  assert_string_equal (v, "A");
  sqlite3_exec (h, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (h);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_new_database_modes),   cmocka_unit_test (test_readers_and_abandoned_writers),
    cmocka_unit_test (test_leftovers_swept),      cmocka_unit_test (test_mode_and_group_kept),
    cmocka_unit_test (test_writers_take_turns),   cmocka_unit_test (test_legacy_hot_journal_recovered),
    cmocka_unit_test (test_reader_ignores_locks),
  };
  return cmocka_run_group_tests_name ("store_edit", tests, NULL, remove_made);
}
