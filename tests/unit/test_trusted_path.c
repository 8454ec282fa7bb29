/* Data-driven suite for base/trusted_path.h: tests/unit/data/trusted_path/
   <case>/case.json holds "tree" (entries made in order under a fresh
   directory: {"path", "type": "dir"|"file"|"link"|"fifo", "mode" (octal
   string), "target" (links; "@ROOT@" is the fresh directory), "uid",
   "gid"}), "check" (the path to check, relative to it), "may_be_missing"
   and "expected": "ok", "missing", or {"error": a substring of the
   message, "@ROOT@" as above}.  Owners other than root need root to set:
   the suite runs as root, as the integration tests do.  */
#include "suite.h"
#include "base/trusted_path.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

static char *
subst_root (const char *text, const char *root)
{
  const char *at = strstr (text, "@ROOT@");
  char *out = NULL;
  if (at == NULL)
    return xstrdup (text);
  xasprintf (&out, "%.*s%s%s", (int) (at - text), text, root, at + 6);
  return out;
}

static void
make_entry (const char *root, json_t *e)
{
  const char *type = json_string_value (json_object_get (e, "type"));
  const char *mode_s = json_string_value (json_object_get (e, "mode"));
  json_t *uid = json_object_get (e, "uid"), *gid = json_object_get (e, "gid");
  cleanup_free char *path = NULL;
  mode_t mode = mode_s ? (mode_t) strtol (mode_s, NULL, 8) : 0;

  xasprintf (&path, "%s/%s", root, json_string_value (json_object_get (e, "path")));
  if (strcmp (type, "dir") == 0)
    assert_int_equal (mkdir (path, 0700), 0);
  else if (strcmp (type, "file") == 0)
    {
      int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      assert_true (fd >= 0);
      close (fd);
    }
  else if (strcmp (type, "fifo") == 0)
    assert_int_equal (mkfifo (path, 0600), 0);
  else if (strcmp (type, "link") == 0)
    {
      cleanup_free char *target = subst_root (json_string_value (json_object_get (e, "target")), root);
      assert_int_equal (symlink (target, path), 0);
    }
  else
    fail_msg ("unknown type %s", type);
  if (mode_s)
    assert_int_equal (chmod (path, mode), 0);
  if (uid || gid)
    {
      if (geteuid () != 0)
        fail_msg ("%s: owners other than root need the suite to run as root", path);
      assert_int_equal (lchown (path, uid ? (uid_t) json_integer_value (uid) : (uid_t) -1,
                                gid ? (gid_t) json_integer_value (gid) : (gid_t) -1),
                        0);
    }
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static void
run_case (const char *dir, const char *name)
{
  cleanup_json json_t *c = suite_json (dir, "case.json", true);
  cleanup_free char *root = xstrdup ("/tmp/pg-trust-XXXXXX");
  cleanup_free char *check = NULL;
  json_t *expected = json_object_get (c, "expected");
  pg_error_t err = NULL;
  size_t i;
  json_t *e;
  int r;

  assert_non_null (mkdtemp (root));
  json_array_foreach (json_object_get (c, "tree"), i, e)
    make_entry (root, e);
  xasprintf (&check, "%s/%s", root, json_string_value (json_object_get (c, "check")));
  r = pg_check_trusted_path (
      check, "policy database",
      json_is_true (json_object_get (c, "may_be_missing")) ? PG_TRUST_MAY_BE_MISSING : 0, &err);
  if (json_is_string (expected))
    {
      int want = strcmp (json_string_value (expected), "ok") == 0 ? 1 : 0;
      if (r != want)
        fail_msg ("%s: expected %s, got %d%s%s", name, json_string_value (expected), r, err ? ": " : "",
                  err ? err->msg : "");
    }
  else
    {
      cleanup_free char *want = subst_root (json_string_value (json_object_get (expected, "error")), root);
      if (r != -1)
        fail_msg ("%s: expected an error with `%s`, got %d", name, want, r);
      if (strstr (err->msg, want) == NULL)
        fail_msg ("%s: expected `%s` in: %s", name, want, err->msg);
      /* Every error names what was checked.  */
      assert_non_null (strstr (err->msg, "policy database"));
    }
  pg_error_release (&err);
  nftw (root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
test_trusted_path_suite (void **state)
{
  cleanup_free char *dir = suite_path ("tests/unit/data/trusted_path");
  size_t n = 0;
  char **cases = suite_cases (dir, &n);

  assert_true (n > 0);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *d = NULL;
      xasprintf (&d, "%s/%s", dir, cases[i]);
      run_case (d, cases[i]);
    }
  strv_free (cases, n);
}

/* A relative path is checked from the cwd, as it would be opened.  */
static void
test_trusted_path_relative (void **state)
{
  cleanup_free char *root = xstrdup ("/tmp/pg-trust-XXXXXX");
  cleanup_free char *cwd = getcwd (NULL, 0);
  cleanup_free char *file = NULL;
  pg_error_t err = NULL;
  int fd;

  assert_non_null (mkdtemp (root));
  xasprintf (&file, "%s/policy.db", root);
  fd = open (file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  close (fd);
  assert_int_equal (chdir (root), 0);
  assert_int_equal (pg_check_trusted_path ("policy.db", "policy database", 0, &err), 1);
  assert_int_equal (chmod (file, 0666), 0);
  assert_int_equal (pg_check_trusted_path ("./policy.db", "policy database", 0, &err), -1);
  assert_non_null (strstr (err->msg, "is writable by group or others"));
  pg_error_release (&err);
  assert_int_equal (chdir (cwd), 0);
  unlink (file);
  rmdir (root);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_trusted_path_suite),
    cmocka_unit_test (test_trusted_path_relative),
  };
  return cmocka_run_group_tests_name ("trusted_path", tests, NULL, NULL);
}
