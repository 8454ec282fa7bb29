/* patchgate doctor: prints what policy/doctor/ finds, as a table or JSON.  */
#include "cli.h"
#include "doctor/doctor.h"
#include "config/hook_config.h"

#include <getopt.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: patchgate doctor [--json] [--canary] [--engine NAME]... [--hooks-dir DIR]...\n"
           "                        [--containers-conf FILE] [--crio-conf FILE] [--containerd-config FILE]\n"
           "                        [--docker-daemon-json FILE] [--config FILE] [--runc-snippet FILE]\n"
           "                        [--podman-arg ARG]... [--docker-host HOST]\n"
           "\n"
           "For each engine on this host, is patchgate wired in and would it run?  podman and\n"
           "CRI-O: the hooks.d directories their configuration names, each file read as they\n"
           "read it (a file whose hook binary is missing is skipped without a word, and\n"
           "containers start unguarded), the hook binary (executable, root's alone);\n"
           "containerd: the CRI plugin's base_runtime_spec carries the hook with --engine\n"
           "containerd; Docker: patchgate-runtime registered and the default runtime; then\n"
           "each hook config the wiring names and its database (loadable, root's alone).\n"
           "\n"
           "  --json                     print the findings as JSON\n"
           "  --canary                   also start an image no scan has seen (built here with\n"
           "                             umoci and busybox-static, never imported) through podman,\n"
           "                             bare runc and a running dockerd: it must be refused\n"
           "  --engine NAME              check only NAME (podman, crio, containerd, docker, runc);\n"
           "                             repeatable.  Default: every engine installed here\n"
           "  --hooks-dir DIR            the hooks.d directories podman and CRI-O read, instead of\n"
           "                             their configuration's; repeatable, later ones win\n"
           "  --containers-conf FILE     podman's containers.conf (default: $CONTAINERS_CONF, else\n"
           "                             /usr/share/containers/containers.conf, /etc/containers/\n"
           "                             containers.conf and containers.conf.d/*.conf); the canary\n"
           "                             runs podman with it\n"
           "  --crio-conf FILE           CRI-O's config (default /etc/crio/crio.conf and\n"
           "                             /etc/crio/crio.conf.d/*.conf)\n"
           "  --containerd-config FILE   default /etc/containerd/config.toml\n"
           "  --docker-daemon-json FILE  default /etc/docker/daemon.json\n"
           "  --config FILE              the hook config of a wiring that names none (default\n"
           "                             " PG_DEFAULT_HOOK_CONFIG "); checked too\n"
           "  --runc-snippet FILE        the canary's bare-runc wiring (default: the installed\n"
           "                             runc-hook-snippet.json)\n"
           "  --podman-arg ARG           a global podman option for the canary (--root=DIR, ...)\n"
           "  --docker-host HOST         dockerd's socket for the canary (docker -H HOST)\n"
           "  -h, --help                 show this help\n"
           "\n"
           "Exit status: 0 every engine checked enforces, 1 something is not enforced or is\n"
           "misconfigured (a FAIL line), 2 doctor could not run.\n");
}

static const char *
json_status (enum pg_doctor_status s)
{
  switch (s)
    {
    case PG_DOCTOR_OK:
      return "ok";
    case PG_DOCTOR_INFO:
      return "info";
    case PG_DOCTOR_WARN:
      return "warn";
    case PG_DOCTOR_FAIL:
      return "fail";
    default:
      return "skip";
    }
}

static int
print_json (const struct pg_doctor_report *r)
{
  cleanup_json json_t *doc = json_object ();
  json_t *checks = json_array ();
  cleanup_free char *text = NULL;

  for (size_t i = 0; i < r->n_checks; i++)
    {
      const struct pg_doctor_check *c = &r->checks[i];
      json_array_append_new (checks, json_pack ("{s:s, s:s, s:s, s:s?, s:s}", "engine", c->engine, "check",
                                                c->check, "status", json_status (c->status), "path", c->path,
                                                "detail", c->detail));
    }
  json_object_set_new (doc, "passed", json_boolean (pg_doctor_passed (r)));
  json_object_set_new (doc, "checks", checks);
  text = json_dumps (doc, JSON_INDENT (2));
  if (text == NULL)
    return 2;
  puts (text);
  return 0;
}

static void
print_table (const struct pg_doctor_report *r)
{
  size_t fails = 0, warns = 0;

  printf ("%-11s %-16s %-6s %s\n", "ENGINE", "CHECK", "STATUS", "DETAIL");
  for (size_t i = 0; i < r->n_checks; i++)
    {
      const struct pg_doctor_check *c = &r->checks[i];
      /* The path once, when the detail does not start with it already.  */
      bool show_path = c->path && strncmp (c->detail, c->path, strlen (c->path)) != 0;
      printf ("%-11s %-16s %-6s %s%s%s\n", c->engine, c->check, pg_doctor_status_name (c->status),
              show_path ? c->path : "", show_path ? ": " : "", c->detail);
      fails += c->status == PG_DOCTOR_FAIL;
      warns += c->status == PG_DOCTOR_WARN;
    }
  if (fails)
    printf ("\n%zu FAIL: containers may start without patchgate's decision, or not at all.\n", fails);
  else
    printf ("\nEvery engine checked runs patchgate-hook for every container%s.\n",
            warns ? " (see the warnings)" : "");
}

int
cmd_doctor (int argc, char **argv)
{
  enum
  {
    OPT_CONTAINERS_CONF = 256,
    OPT_CRIO_CONF,
    OPT_CONTAINERD_CONFIG,
    OPT_DOCKER_DAEMON_JSON,
    OPT_RUNC_SNIPPET,
    OPT_PODMAN_ARG,
    OPT_HOOKS_DIR,
    OPT_ENGINE,
    OPT_DOCKER_HOST,
  };
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "canary", no_argument, NULL, 'C' },
    { "engine", required_argument, NULL, OPT_ENGINE },
    { "hooks-dir", required_argument, NULL, OPT_HOOKS_DIR },
    { "containers-conf", required_argument, NULL, OPT_CONTAINERS_CONF },
    { "crio-conf", required_argument, NULL, OPT_CRIO_CONF },
    { "containerd-config", required_argument, NULL, OPT_CONTAINERD_CONFIG },
    { "docker-daemon-json", required_argument, NULL, OPT_DOCKER_DAEMON_JSON },
    { "config", required_argument, NULL, 'c' },
    { "runc-snippet", required_argument, NULL, OPT_RUNC_SNIPPET },
    { "podman-arg", required_argument, NULL, OPT_PODMAN_ARG },
    { "docker-host", required_argument, NULL, OPT_DOCKER_HOST },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct pg_doctor_options o = { 0 };
  cleanup_doctor_report struct pg_doctor_report r = { 0 };
  cleanup_error pg_error_t err = NULL;
  bool json = false;
  int c, ret;

  while ((c = getopt_long (argc, argv, "c:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        json = true;
        break;
      case 'C':
        o.canary = true;
        break;
      case OPT_ENGINE:
        strv_append (&o.engines, &o.n_engines, optarg);
        break;
      case OPT_HOOKS_DIR:
        strv_append (&o.hooks_dirs, &o.n_hooks_dirs, optarg);
        break;
      case OPT_CONTAINERS_CONF:
        o.containers_conf = optarg;
        break;
      case OPT_CRIO_CONF:
        o.crio_conf = optarg;
        break;
      case OPT_CONTAINERD_CONFIG:
        o.containerd_config = optarg;
        break;
      case OPT_DOCKER_DAEMON_JSON:
        o.docker_daemon_json = optarg;
        break;
      case 'c':
        o.hook_config = optarg;
        break;
      case OPT_RUNC_SNIPPET:
        o.runc_snippet = optarg;
        break;
      case OPT_DOCKER_HOST:
        o.docker_host = optarg;
        break;
      case OPT_PODMAN_ARG:
        strv_append (&o.podman_args, &o.n_podman_args, optarg);
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (optind != argc)
    {
      usage (stderr);
      ret = 2;
      goto out;
    }
  if (pg_doctor_run (&o, &r, &err) < 0)
    {
      ret = cli_fail (&err);
      goto out;
    }
  if (json)
    {
      if (print_json (&r) != 0)
        {
          ret = 2;
          goto out;
        }
    }
  else
    print_table (&r);
  ret = pg_doctor_passed (&r) ? 0 : 1;
out:
  strv_free (o.engines, o.n_engines);
  strv_free (o.hooks_dirs, o.n_hooks_dirs);
  strv_free (o.podman_args, o.n_podman_args);
  return ret;
}
