#!/usr/bin/env python3
"""gen_storage: a containers/storage store in podman's format, for the
`storage` step of tests/bench/run.sh.

    gen_storage.py --out GRAPHROOT --driver overlay --containers N --images M
                   --cid CID --image-id HEX --image-ref REF --image-digest sha256:HEX [--seed S]
                   [--oldest]

Writes GRAPHROOT/<driver>-containers/containers.json and
GRAPHROOT/<driver>-images/images.json byte for byte as containers/storage
writes them (Go's encoding/json through json-iterator in its
standard-compatible mode: compact, fields in struct order, `"` escaped
inside strings).  The records are the ones `podman run` (4.3.1) wrote on the
machine this was written on, with their IDs, names and times replaced:

  {"id":"62979442...","names":["bench-c1"],"image":"3e1bc6c0...","layer":"4a62db73...",
   "metadata":"{\\"image-name\\":\\"localhost/bench:1\\",\\"image-id\\":\\"3e1bc6c0...\\",
   \\"name\\":\\"bench-c1\\",\\"created-at\\":1796031183}","created":"2026-11-30T09:33:03.59856361Z",
   "flags":{"MountLabel":"","ProcessLabel":""}}

and its image's (names, names-history, layer, metadata, four big-data
items).  Container CID is the last record of containers.json (the newest,
as `podman run` appends it; with --oldest the first, as when `podman start`
starts again the oldest container of the host) and runs image HEX, the last record of
images.json, named REF with manifest digest DIGEST; the others are random
(seeded), each container running one of the images.
"""
import argparse
import json
import os
import random

ADJ = ["admiring", "busy", "clever", "dreamy", "eager", "focused", "gallant", "happy", "jolly", "keen"]
NAMES = ["hopper", "lovelace", "turing", "ritchie", "thompson", "knuth", "liskov", "hamilton", "noether"]


def go_string(s):
    """A string as Go's encoding/json writes it (HTML-escaping on)."""
    out = json.dumps(s, ensure_ascii=False)
    return out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def hexid(rng):
    return "%064x" % rng.getrandbits(256)


def stamp(rng):
    return "2026-%02d-%02dT%02d:%02d:%02d.%09dZ" % (
        rng.randint(1, 11), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
        rng.randint(0, 999999999))


def container(cid, name, image, ref, rng):
    meta = '{"image-name":%s,"image-id":%s,"name":%s,"created-at":%d}' % (
        go_string(ref), go_string(image), go_string(name), rng.randint(1760000000, 1796031183))
    return ('{"id":%s,"names":[%s],"image":%s,"layer":%s,"metadata":%s,"created":%s,'
            '"flags":{"MountLabel":"","ProcessLabel":""}}') % (
                go_string(cid), go_string(name), go_string(image), go_string(hexid(rng)), go_string(meta),
                go_string(stamp(rng)))


def image(iid, ref, digest, rng):
    dhex = digest[len("sha256:"):]
    meta = '{"signatures-sizes":{%s:[]}}' % go_string(digest)
    names = [("manifest", 343), ("manifest-" + digest, 343), ("sha256:" + iid, 409), ("signature-" + dhex, 0)]
    digests = {"manifest": digest, "manifest-" + digest: digest, "sha256:" + iid: "sha256:" + iid,
               "signature-" + dhex: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
    # Go writes a map's keys sorted; big-data-names keeps insertion order.
    order = ["sha256:" + iid, "manifest-" + digest, "manifest", "signature-" + dhex]
    return ('{"id":%s,"digest":%s,"names":[%s],"names-history":[%s],"layer":%s,"metadata":%s,'
            '"big-data-names":[%s],"big-data-sizes":{%s},"big-data-digests":{%s},"created":%s}') % (
                go_string(iid), go_string(digest), go_string(ref), go_string(ref), go_string(hexid(rng)),
                go_string(meta), ",".join(go_string(n) for n in order),
                ",".join("%s:%d" % (go_string(k), v) for k, v in sorted(names)),
                ",".join("%s:%s" % (go_string(k), go_string(digests[k])) for k in sorted(digests)),
                go_string(stamp(rng)))


def write(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write("[" + ",".join(records) + "]")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--driver", default="overlay")
    ap.add_argument("--containers", type=int, required=True)
    ap.add_argument("--images", type=int, required=True)
    ap.add_argument("--cid", required=True)
    ap.add_argument("--image-id", required=True)
    ap.add_argument("--image-ref", required=True)
    ap.add_argument("--image-digest", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--oldest", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)

    imgs = []
    for i in range(a.images - 1):
        ref = "registry.example.com/team-%d/app-%d:%d" % (i % 10, i, rng.randint(1, 40))
        imgs.append((hexid(rng), ref, "sha256:" + hexid(rng)))
    imgs.append((a.image_id, a.image_ref, a.image_digest))
    recs = []
    for i in range(a.containers - 1):
        iid, ref, _ = imgs[rng.randrange(len(imgs))]
        name = "%s_%s%s" % (rng.choice(ADJ), rng.choice(NAMES), "" if i < 90 else "_%d" % i)
        recs.append(container(hexid(rng), name, iid, ref, rng))
    target = container(a.cid, "bench-target", a.image_id, a.image_ref, rng)
    if a.oldest:
        recs.insert(0, target)
    else:
        recs.append(target)
    write(os.path.join(a.out, a.driver + "-containers", "containers.json"), recs)
    write(os.path.join(a.out, a.driver + "-images", "images.json"),
          [image(iid, ref, d, rng) for iid, ref, d in imgs])


if __name__ == "__main__":
    main()
