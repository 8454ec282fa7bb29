/* patchgate: containers/storage, the image store podman and CRI-O share.  */
#ifndef PATCHGATE_STORAGE_H
#define PATCHGATE_STORAGE_H

#include "config/hook_config.h"

/* containers/storage (podman, CRI-O): where it lives, from the hook config,
   else storage.conf's [storage] table, else the defaults.  DRIVER NULL:
   probe overlay, then vfs.  */
#define PG_STORAGE_CONF "/etc/containers/storage.conf"
struct pg_storage_conf
{
  char *graphroot;
  char *runroot;
  char *driver;
};
/* A missing file leaves the defaults.  */
int storage_conf_parse (const char *path, struct pg_storage_conf *sc, pg_error_t *err);
void storage_conf_free (struct pg_storage_conf *sc);

/* The image of storage container CONTAINER_ID: its ID ("sha256:<hex>"),
   manifest digests and a name.  Returns 1 when the container is in the
   store, 0 when not (or no store here), <0 on error.  */
struct pg_storage_image
{
  char *image_id;
  char **digests;
  size_t n_digests;
  char *name;
};
int storage_lookup (const struct pg_hook_config *cfg, const char *container_id, struct pg_storage_image *img,
                    pg_error_t *err);
void storage_image_free (struct pg_storage_image *img);

#endif
