/* patchgate: containers/storage, the image store podman and CRI-O share.  */
#ifndef PATCHGATE_STORAGE_H
#define PATCHGATE_STORAGE_H

#include "config/hook_config.h"
#include "identify/identify.h"

/* containers/storage (podman, CRI-O): where it lives, from the hook config,
   else storage.conf's [storage] table, else the defaults.  DRIVER NULL:
   probe overlay, then vfs.  */
#define PG_STORAGE_CONF "/etc/containers/storage.conf"
/* The image CRI-O resolved the pod's image to, in its spec's annotations.  */
#define CRIO_IMAGE_REF "io.kubernetes.cri-o.ImageRef"
struct pg_storage_conf
{
  char *graphroot;
  char *runroot;
  char *driver;
};
/* A missing file leaves the defaults; one that is not TOML is an error.  */
int storage_conf_parse (const char *path, struct pg_storage_conf *sc, pg_error_t *err);
void storage_conf_free (struct pg_storage_conf *sc);

/* The image of storage container ST->id: its ID ("sha256:<hex>"), a name
   and manifest digests; whether the record is CRI-O's and whether it is
   for this bundle.  The name is the one the container's record gives;
   images.json is read only for a record of this bundle, and then only for
   a name when the record has none, or for the digests when CRI-O's
   ImageRef (crio_identify, their only user) is not the image ID.  Returns
   1 when the container is in the store, 0 when not (or no store here), <0
   on error.  */
struct pg_storage_image
{
  char *image_id;
  char **digests;
  size_t n_digests;
  char *name;
  bool crio;      /* its metadata has CRI-O's pod-name and pod-id */
  bool at_bundle; /* its userdata directory is ST's bundle */
};
int storage_lookup (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                    struct pg_storage_image *img, pg_error_t *err);
void storage_image_free (struct pg_storage_image *img);

/* storage_lookup, kept only when the record is for this bundle: 1 with
   *IMG; 0 when there is none (a record for another bundle is noted in
   ID->conflict and ignored); <0 on error.  */
int storage_record_here (const struct pg_hook_config *cfg, const struct pg_oci_state *st,
                         struct pg_storage_image *img, struct pg_identity *id, pg_error_t *err);

#endif
