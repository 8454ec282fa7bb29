/* patchgate bundle build | sign | verify: make and check signed policy
   bundles (format: bundle/bundle.h, docs/bundles.md).  */
#include "bundle/bundle.h"
#include "cli.h"
#include "gate/gate.h"
#include "base/clock.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate bundle build -o FILE [--db DB] [--serial N]\n"
                "       patchgate bundle sign --key KEY.pem FILE\n"
                "       patchgate bundle verify [--key PUB.pem]... [--config FILE] FILE\n"
                "\n"
                "Policy bundles: the decision index compiled from the policy database,\n"
                "compressed (zstd), with a manifest (serial, creation time, policy version,\n"
                "sizes and SHA-256s), signed with Ed25519.  Hosts pull them with `patchgate\n"
                "sync URL` or take them with `patchgate activate`; they need no database.\n"
                "\n"
                "  build   write FILE from the database (default " PG_DEFAULT_DB ");\n"
                "          the serial defaults to the current unix time and must grow\n"
                "  sign    write FILE.sig, the raw Ed25519 signature over FILE's bytes (the\n"
                "          same as openssl pkeyutl -sign -rawin -inkey KEY.pem -in FILE)\n"
                "  verify  check FILE.sig against each --key (default: the hook config's\n"
                "          trusted_keys) and the payload's SHA-256; print the manifest\n"
                "\n"
                "`patchgate bundle COMMAND --help` for each command's options.\n");
}

static void
usage_build (FILE *out)
{
  fprintf (out, "Usage: patchgate bundle build -o FILE [--db DB] [--serial N]\n"
                "\n"
                "Compile the policy database (one read transaction: consistent while imports\n"
                "run) into a decision index, compress it and write the bundle FILE.  The\n"
                "database must have a policy set.  Only hosts running this same build of\n"
                "patchgate can activate it (the manifest's index_build).\n"
                "\n"
                "  -o, --output FILE  the bundle to write (through a temp file and a rename)\n"
                "  --db DB            policy database (default " PG_DEFAULT_DB ")\n"
                "  --serial N         bundle serial, a positive integer that must be higher than\n"
                "                     the one hosts run (default: the current unix time)\n"
                "  -h, --help         show this help\n");
}

static void
usage_sign (FILE *out)
{
  fprintf (out, "Usage: patchgate bundle sign --key KEY.pem FILE\n"
                "\n"
                "Write FILE.sig: the raw 64-byte Ed25519 signature over FILE's bytes.  Make a key\n"
                "with `openssl genpkey -algorithm ed25519 -out KEY.pem` and give hosts the public\n"
                "half (`openssl pkey -in KEY.pem -pubout -out PUB.pem`) in trusted_keys.\n"
                "\n"
                "  -k, --key KEY.pem  the Ed25519 private key (PEM, unencrypted)\n"
                "  -o, --output SIG   where to write the signature (default FILE.sig)\n"
                "  -h, --help         show this help\n");
}

static void
usage_verify (FILE *out)
{
  fprintf (out,
           "Usage: patchgate bundle verify [--key PUB.pem]... [--config FILE] [--sig SIG] FILE\n"
           "\n"
           "Check FILE.sig over FILE against the public keys and the payload against the\n"
           "manifest's size and SHA-256, then print the manifest as JSON.  Nothing is\n"
           "decompressed or activated.\n"
           "\n"
           "  -k, --key PUB.pem  a trusted Ed25519 public key (repeatable); default: the\n"
           "                     hook config's trusted_keys\n"
           "  -c, --config FILE  hook config (default $PATCHGATE_CONFIG, then " PG_DEFAULT_HOOK_CONFIG ")\n"
           "  -s, --sig SIG      the signature (default FILE.sig)\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: 0 valid, 2 invalid or an error.\n");
}

static int
parse_serial (const char *s, int64_t *out)
{
  char *end = NULL;
  long long v;
  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno || end == s || *end != '\0' || v <= 0)
    return -1;
  *out = v;
  return 0;
}

static int
bundle_build_main (int argc, char **argv)
{
  static const struct option opts[] = { { "output", required_argument, NULL, 'o' },
                                        { "db", required_argument, NULL, 'd' },
                                        { "serial", required_argument, NULL, 's' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *db = PG_DEFAULT_DB, *out = NULL;
  struct pg_bundle_manifest m;
  pg_error_t err = NULL;
  int64_t serial = 0, now;
  int c;

  while ((c = getopt_long (argc, argv, "o:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'o':
        out = optarg;
        break;
      case 'd':
        db = optarg;
        break;
      case 's':
        if (parse_serial (optarg, &serial) < 0)
          {
            pg_make_error (&err, 0, "--serial: `%s` is not a positive integer", optarg);
            return cli_fail (&err);
          }
        break;
      case 'h':
        usage_build (stdout);
        return 0;
      default:
        usage_build (stderr);
        return 2;
      }
  if (out == NULL || optind != argc)
    {
      usage_build (stderr);
      return 2;
    }
  if (pg_now (&now, &err) < 0 || bundle_build (db, out, serial, now, &m, &err) < 0)
    return cli_fail (&err);
  printf ("wrote %s: serial %lld, policy %s, %lld images, index %llu bytes, payload %llu bytes (zstd), "
          "sha256 %s\n",
          out, (long long) m.serial, m.policy_version, (long long) m.images,
          (unsigned long long) m.index_size, (unsigned long long) m.payload_size, m.payload_sha256);
  bundle_manifest_free (&m);
  return 0;
}

static int
bundle_sign_main (int argc, char **argv)
{
  static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
                                        { "output", required_argument, NULL, 'o' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *key = NULL, *sig = NULL;
  cleanup_free char *default_sig = NULL;
  pg_error_t err = NULL;
  int c;

  while ((c = getopt_long (argc, argv, "k:o:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'k':
        key = optarg;
        break;
      case 'o':
        sig = optarg;
        break;
      case 'h':
        usage_sign (stdout);
        return 0;
      default:
        usage_sign (stderr);
        return 2;
      }
  if (key == NULL || optind + 1 != argc)
    {
      usage_sign (stderr);
      return 2;
    }
  if (sig == NULL)
    {
      xasprintf (&default_sig, "%s.sig", argv[optind]);
      sig = default_sig;
    }
  if (bundle_sign_file (key, argv[optind], sig, &err) < 0)
    return cli_fail (&err);
  printf ("wrote %s\n", sig);
  return 0;
}

static json_t *
manifest_json (const struct pg_bundle_manifest *m, const char *key)
{
  json_t *j = bundle_manifest_to_json (m);
  json_object_set_new (j, "verified_with", json_string (key));
  return j;
}

static int
verify_file (const char *file, const char *sig_path, char **keys, size_t n_keys, pg_error_t *err)
{
  unsigned char sig[PG_ED25519_SIG_SIZE];
  struct pg_bundle b;
  const char *key = NULL;
  int ret = -1;

  memset (&b, 0, sizeof (b));
  if (bundle_read_signature (sig_path, sig, err) < 0 || bundle_map (file, PG_MAX_BUNDLE_SIZE, &b, err) < 0)
    goto out;
  if (bundle_verify_signature (&b, sig, sizeof (sig), keys, n_keys, &key, err) < 0
      || bundle_check_payload (&b, err) < 0)
    goto out;
  {
    cleanup_json json_t *j = manifest_json (&b.manifest, key);
    json_dumpf (j, stdout, JSON_INDENT (2));
    putchar ('\n');
  }
  ret = 0;
out:
  bundle_close (&b);
  return ret;
}

static int
bundle_verify_main (int argc, char **argv)
{
  static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
                                        { "config", required_argument, NULL, 'c' },
                                        { "sig", required_argument, NULL, 's' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *config = NULL, *sig = NULL;
  cleanup_free char *default_sig = NULL;
  struct pg_hook_config cfg;
  char **keys = NULL;
  size_t n_keys = 0;
  pg_error_t err = NULL;
  int c, ret;

  memset (&cfg, 0, sizeof (cfg));
  while ((c = getopt_long (argc, argv, "k:c:s:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'k':
        strv_append (&keys, &n_keys, optarg);
        break;
      case 'c':
        config = optarg;
        break;
      case 's':
        sig = optarg;
        break;
      case 'h':
        strv_free (keys, n_keys);
        usage_verify (stdout);
        return 0;
      default:
        strv_free (keys, n_keys);
        usage_verify (stderr);
        return 2;
      }
  if (optind + 1 != argc)
    {
      strv_free (keys, n_keys);
      usage_verify (stderr);
      return 2;
    }
  if (sig == NULL)
    {
      xasprintf (&default_sig, "%s.sig", argv[optind]);
      sig = default_sig;
    }
  if (n_keys == 0 && hook_config_load (hook_config_env_path (config), &cfg, &err) < 0)
    ret = cli_fail (&err);
  else if (verify_file (argv[optind], sig, n_keys ? keys : cfg.trusted_keys,
                        n_keys ? n_keys : cfg.n_trusted_keys, &err)
           < 0)
    ret = cli_fail (&err);
  else
    ret = 0;
  strv_free (keys, n_keys);
  hook_config_free (&cfg);
  return ret;
}

int
cmd_bundle (int argc, char **argv)
{
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "build") == 0)
    return bundle_build_main (argc - 1, argv + 1);
  if (strcmp (argv[1], "sign") == 0)
    return bundle_sign_main (argc - 1, argv + 1);
  if (strcmp (argv[1], "verify") == 0)
    return bundle_verify_main (argc - 1, argv + 1);
  fprintf (stderr, "patchgate: bundle: unknown command `%s`\n", argv[1]);
  usage (stderr);
  return 2;
}
