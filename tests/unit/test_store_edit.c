/* Changing the live database in place (store/store.h,
   base/writer_lock.h): file modes, what an abandoned or killed writer
   leaves, writers taking turns, savepoints inside a writer's transaction,
   the file's identity changing with every commit and only then, a legacy
   hot journal, a whole database copied in (activation), and readers and
   writers that do not stop each other.  */
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
  /* Nothing but the database, its WAL (emptied) and shared memory, kept
     for readers that cannot create them, both with the database's mode,
     and the writers' lock file.  */
  assert_int_equal (count_prefixed (dir, "."), 2);
  assert_int_equal (count_prefixed (dir, "policy.db"), 4);
  {
    cleanup_free char *wal = NULL;
    cleanup_free char *shm = NULL;
    xasprintf (&wal, "%s-wal", db);
    xasprintf (&shm, "%s-shm", db);
    assert_int_equal (stat (wal, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0600);
    assert_int_equal (st.st_size, 0);
    assert_int_equal (stat (shm, &st), 0);
    assert_int_equal (st.st_mode & 07777, 0600);
  }
}

static bool
same_identity (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
         && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* A reader inside a read transaction keeps its snapshot while a writer
   commits, and sees the commit in its next one; a writer that never
   commits leaves the file as it was, byte for byte and identity (the
   index's freshness check: store.h) included; a savepoint still open is
   never committed.  */
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
  cleanup_free char *v4 = NULL;
  cleanup_store pg_store *reader = NULL;
  pg_error_t err = NULL;
  size_t before_len = 0, after_len = 0;
  struct stat st1, st2;

  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (store_open (db, PG_STORE_READONLY, &reader, &err), 0);
  assert_int_equal (store_begin (reader, false, &err), 0);
  {
    char *json = NULL, *version = NULL;
    int64_t at = 0;
    assert_true (store_get_policy (reader, &json, &version, &at, &err) > 0);
    assert_string_equal (version, "A");
    free (json);
    free (version);
  }
  set_policy (db, POLICY_B, "B");
  {
    char *json = NULL, *version = NULL;
    int64_t at = 0;
    assert_true (store_get_policy (reader, &json, &version, &at, &err) > 0);
    assert_string_equal (version, "A");
    free (json);
    free (version);
  }
  store_rollback (reader);
  v1 = policy_version (reader);
  assert_string_equal (v1, "B");
  v2 = read_version (db);
  assert_string_equal (v2, "B");

  before = file_bytes (db, &before_len);
  assert_int_equal (stat (db, &st1), 0);
  {
    cleanup_store_edit struct pg_store_edit e = PG_STORE_EDIT_INIT;
    assert_int_equal (store_edit_begin (db, &e, &err), 0);
    assert_int_equal (store_begin (e.store, true, &err), 0);
    assert_int_equal (store_set_policy (e.store, POLICY_A, "A", 2000, &err), 0);
    assert_int_equal (store_commit (e.store, &err), 0);
    /* Seen by nobody else before the edit's commit.  */
    v3 = read_version (db);
    assert_string_equal (v3, "B");
    /* An open savepoint is never committed.  */
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
  assert_true (same_identity (&st1, &st2));
  v4 = read_version (db);
  assert_string_equal (v4, "B");
}

/* Inside a writer's transaction, store_begin/commit/rollback are
   savepoints: a rolled-back part (a report that failed under
   --keep-going) goes alone, the rest is committed together.  */
static void
test_savepoints (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *v = NULL;
  pg_error_t err = NULL;

  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  {
    cleanup_store_edit struct pg_store_edit e = PG_STORE_EDIT_INIT;
    cleanup_free char *mine = NULL;
    assert_int_equal (store_edit_begin (db, &e, &err), 0);
    assert_int_equal (store_begin (e.store, true, &err), 0);
    assert_int_equal (store_set_policy (e.store, POLICY_B, "B", 2000, &err), 0);
    assert_int_equal (store_commit (e.store, &err), 0);
    assert_int_equal (store_begin (e.store, true, &err), 0);
    assert_int_equal (store_set_policy (e.store, POLICY_A, "A", 3000, &err), 0);
    store_rollback (e.store);
    /* Rolling back with none open does not end the writer's transaction. */
    store_rollback (e.store);
    mine = policy_version (e.store);
    assert_string_equal (mine, "B");
    assert_int_equal (store_edit_commit (&e, &err), 0);
  }
  v = read_version (db);
  assert_string_equal (v, "B");
}

/* The file's identity (what the index records) changes with every commit,
   even when a reader's snapshot keeps the WAL from being checkpointed into
   the file; and a reader never stops the writer.  */
static void
test_identity_changes_with_every_commit (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *v = NULL;
  cleanup_store pg_store *reader = NULL;
  pg_error_t err = NULL;
  struct stat st0, st1, st2;
  char *json = NULL, *version = NULL;
  int64_t at = 0;

  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (stat (db, &st0), 0);
  set_policy (db, POLICY_B, "B");
  assert_int_equal (stat (db, &st1), 0);
  assert_false (same_identity (&st0, &st1));

  assert_int_equal (store_open (db, PG_STORE_READONLY, &reader, &err), 0);
  assert_int_equal (store_begin (reader, false, &err), 0);
  assert_true (store_get_policy (reader, &json, &version, &at, &err) > 0);
  free (json);
  free (version);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (stat (db, &st2), 0);
  assert_false (same_identity (&st1, &st2));
  assert_true (st2.st_ino == st0.st_ino);
  store_rollback (reader);
  v = policy_version (reader);
  assert_string_equal (v, "A");
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
  /* The WAL and shared memory follow: whoever may read the database may
     read them (a reader needs both).  */
  for (size_t i = 0; i < 2; i++)
    {
      cleanup_free char *p = NULL;
      xasprintf (&p, "%s%s", db, i ? "-shm" : "-wal");
      assert_int_equal (stat (p, &st), 0);
      assert_int_equal (st.st_mode & 07777, 0644);
      assert_int_equal (st.st_uid, 0);
      assert_int_equal (st.st_gid, 4);
    }
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
    /* The first writer's change is what this one starts from.  */
    v = policy_version (e.store);
    assert_string_equal (v, "B");
    assert_int_equal (store_edit_commit (&e, &err), 0);
  }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  assert_true ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 150);
}

/* A writer of an older patchgate (rollback journal), killed after its
   cache spilled, left a hot journal beside the live file.  The next
   writer's connection rolls it back before anything else, then turns the
   database to WAL.  */
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
                           "PRAGMA journal_mode = DELETE; PRAGMA cache_size = 8; BEGIN;"
                           " UPDATE policy SET version = 'torn';"
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

/* Another connection's write transaction, even BEGIN EXCLUSIVE (in WAL
   mode only writers wait for it), stops no reader: it reads the last
   commit.  */
static void
test_reader_not_stopped_by_a_writer (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *v = NULL;
  sqlite3 *h = NULL;

  xasprintf (&db, "%s/policy.db", dir);
  set_policy (db, POLICY_A, "A");
  assert_int_equal (sqlite3_open (db, &h), SQLITE_OK);
  assert_int_equal (sqlite3_exec (h, "BEGIN EXCLUSIVE; UPDATE policy SET version = 'torn'", NULL, NULL, NULL),
                    SQLITE_OK);
  v = read_version (db);
  assert_string_equal (v, "A");
  sqlite3_exec (h, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close (h);
}

/* A writer killed inside its transaction, after its cache spilled into
   the WAL: the database file is untouched (bytes and identity, so the
   index stays current), readers read the committed data, and the next
   writer's change lands.  */
static void
test_killed_writer (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  cleanup_free char *wal = NULL;
  cleanup_free char *before = NULL;
  cleanup_free char *after = NULL;
  cleanup_free char *v1 = NULL;
  cleanup_free char *v2 = NULL;
  size_t before_len = 0, after_len = 0;
  struct stat st1, st2, sw;
  int status = 0;
  pid_t pid;

  xasprintf (&db, "%s/policy.db", dir);
  xasprintf (&wal, "%s-wal", db);
  set_policy (db, POLICY_A, "A");
  before = file_bytes (db, &before_len);
  assert_int_equal (stat (db, &st1), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct pg_store_edit e = PG_STORE_EDIT_INIT;
      pg_error_t err = NULL;
      if (store_edit_begin (db, &e, &err) < 0 || store_set_policy (e.store, POLICY_B, "B", 1, &err) < 0
          || sqlite3_exec (store_db (e.store),
                           "PRAGMA cache_size = 8;"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
                           " INSERT INTO meta SELECT 'k' || i, hex(randomblob(200)) FROM n;",
                           NULL, NULL, NULL)
                 != SQLITE_OK)
        _exit (1);
      _exit (0); /* killed: no COMMIT, no ROLLBACK, the lock released by the kernel */
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  /* It did write: the spilled pages are in the WAL.  */
  assert_int_equal (stat (wal, &sw), 0);
  assert_true (sw.st_size > 100 * 1024);

  after = file_bytes (db, &after_len);
  assert_int_equal (stat (db, &st2), 0);
  assert_int_equal (before_len, after_len);
  assert_memory_equal (before, after, before_len);
  assert_true (same_identity (&st1, &st2));
  v1 = read_version (db);
  assert_string_equal (v1, "A");

  set_policy (db, POLICY_B, "B");
  v2 = read_version (db);
  assert_string_equal (v2, "B");
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

/* A writer that creates the database and fails leaves none.  */
static void
test_failed_create_leaves_nothing (void **state)
{
  cleanup_free char *dir = temp_dir ();
  cleanup_free char *db = NULL;
  pg_error_t err = NULL;

  xasprintf (&db, "%s/policy.db", dir);
  {
    cleanup_store_edit struct pg_store_edit e = PG_STORE_EDIT_INIT;
    assert_int_equal (store_edit_begin (db, &e, &err), 0);
    assert_int_equal (store_set_policy (e.store, POLICY_A, "A", 1, &err), 0);
  }
  assert_int_equal (access (db, F_OK), -1);
  assert_int_equal (count_prefixed (dir, "policy.db"), 1); /* the lock file */
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_new_database_modes),
    cmocka_unit_test (test_readers_and_abandoned_writers),
    cmocka_unit_test (test_savepoints),
    cmocka_unit_test (test_identity_changes_with_every_commit),
    cmocka_unit_test (test_leftovers_swept),
    cmocka_unit_test (test_mode_and_group_kept),
    cmocka_unit_test (test_writers_take_turns),
    cmocka_unit_test (test_legacy_hot_journal_recovered),
    cmocka_unit_test (test_reader_not_stopped_by_a_writer),
    cmocka_unit_test (test_killed_writer),
    cmocka_unit_test (test_failed_create_leaves_nothing),
  };
  return cmocka_run_group_tests_name ("store_edit", tests, NULL, remove_made);
}
