"""A video decomposed through the API: video -> scenes -> keyframes and faces.

The video shows three real photos that Debian's opencv-doc ships, 3 s each
with hard cuts: a football match, a portrait, a plate of fruit. A
multimodal_extractor collection splits it by scene; two tier-2 collections
read the scenes' keyframe thumbnails (`document_blobs.thumbnail`): an
image_extractor collection (one keyframe document per scene, with objects)
and a face_identity_extractor collection (one document per face). The checks:
objects are a filter (`objects.label`), a caption of the objects makes a
sentence query find its scene, the clearest face comes from the portrait's
scene and none from the fruit's, and
the object's decomposition tree shows video -> scenes -> keyframes and faces."""
import base64
import os
import shutil
import subprocess
import unittest

from harness import ApiTestCase, Client
from test_engine import submit, wait_task

PHOTOS = ["/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
          "/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg",
          "/usr/share/doc/opencv-doc/examples/data/fruits.jpg"]
SCENE_TEXT = "mixpeek://multimodal_extractor@v1/use_lite"


def make_video(folder):
    args = ["ffmpeg", "-nostdin", "-y", "-loglevel", "error"]
    filt = ""
    for i, p in enumerate(PHOTOS):
        args += ["-loop", "1", "-t", "3", "-i", p]
        filt += (f"[{i}]scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,"
                 f"setsar=1,fps=25,format=yuv420p[v{i}];")
    filt += "".join(f"[v{i}]" for i in range(len(PHOTOS))) + f"concat=n={len(PHOTOS)}:v=1[v]"
    out = os.path.join(folder, "photos.mp4")
    subprocess.run(args + ["-filter_complex", filt, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
                           "-pix_fmt", "yuv420p", out], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with open(out, "rb") as f:
        return f.read()


class VideoDecompositionTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        missing = [p for p in PHOTOS if not os.path.exists(p)]
        if missing or shutil.which("ffmpeg") is None:
            raise unittest.SkipTest("needs ffmpeg and opencv-doc's photos (scripts/deps.sh installs both)")
        super().setUpClass()
        cls.make_temp_dir("strata-decomp-")
        video = make_video(cls.dir)
        c = cls.c = Client(cls.server.base, conformance=cls.conformance)
        r = c.post("/v1/namespaces", {"namespace_name": "films", "feature_extractors": [
            {"feature_extractor_name": n, "version": "v1"}
            for n in ("multimodal_extractor", "image_extractor", "face_identity_extractor")]})
        assert r.status_code == 200, r.text
        c.namespace = "films"
        r = c.post("/v1/buckets", {"bucket_name": "reels", "bucket_schema": {
            "properties": {"video": {"type": "video"}, "title": {"type": "string"}}}})
        assert r.status_code == 200, r.text

        def collection(name, source, extractor, mappings, **params):
            r = c.post("/v1/collections", {
                "collection_name": name, "source": source,
                "feature_extractor": {"feature_extractor_name": extractor, "version": "v1",
                                      "input_mappings": mappings, "parameters": params}})
            assert r.status_code == 200, r.text
            return r.json()

        cls.scenes = collection("scenes", {"type": "bucket", "bucket_ids": ["reels"]}, "multimodal_extractor",
                                {"video": "video"}, split_method="scene", run_transcription=False)
        from_scenes = {"type": "collection", "collection_id": "scenes"}
        cls.keyframes = collection("keyframes", from_scenes, "image_extractor",
                                   {"image": "document_blobs.thumbnail"}, run_ocr=False)
        cls.faces = collection("faces", from_scenes, "face_identity_extractor",
                               {"image": "document_blobs.thumbnail"})
        r = c.post("/v1/buckets/reels/objects", {"key_prefix": "/reels", "metadata": {}, "blobs": [
            {"property": "video", "type": "video",
             "data": {"base64": base64.b64encode(video).decode(), "mime_type": "video/mp4",
                      "filename": "photos.mp4"}}], "title": "three photos"})
        assert r.status_code == 200, r.text
        cls.object_id = r.json()["object_id"]
        _, task = submit(c, "reels", [cls.object_id])
        cls.task = wait_task(c, task)


    def documents(self, collection, filters=None):
        body = {"filters": filters} if filters else {}
        r = self.c.post(f"/v1/collections/{collection}/documents/list", body, params={"limit": 100})
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["results"]

    def test_the_batch_completes_every_tier(self):
        self.assertEqual(self.task["status"], "COMPLETED", self.task)

    def test_scenes_have_objects_filterable_by_label(self):
        scenes = sorted(self.documents("scenes"), key=lambda d: d["segment_index"])
        self.assertEqual(len(scenes), 3, [(d["start_time"], d["end_time"]) for d in scenes])
        for d, start in zip(scenes, (0, 3, 6)):
            self.assertAlmostEqual(d["start_time"], start, delta=0.2)
        labels = [{o["label"] for o in d["objects"]} for d in scenes]
        self.assertIn("sports ball", labels[0])
        self.assertIn("person", labels[0])
        self.assertTrue({"apple", "orange"} & labels[2], labels[2])
        ball = self.documents("scenes", {"field": "objects.label", "operator": "in", "value": ["sports ball"]})
        self.assertEqual([d["segment_index"] for d in ball], [0])
        fruit = self.documents("scenes", {"objects.label": "orange"})
        self.assertEqual([d["segment_index"] for d in fruit], [2])
        # the portrait's keyframe has its face
        self.assertEqual(len(scenes[1]["faces"]), 1, scenes[1]["faces"])

    def test_a_sentence_finds_the_scene_through_its_caption(self):
        r = self.c.post("/v1/retrievers/execute", {
            "collection_identifiers": ["scenes"], "input_schema": {"q": {"type": "string"}},
            "inputs": {"q": "a man kicking a ball"},
            "stages": [{"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
                "searches": [{"feature_uri": SCENE_TEXT, "query": "{{INPUT.q}}", "top_k": 3}],
                "final_top_k": 3}}}]})
        self.assertEqual(r.status_code, 200, r.text)
        docs = r.json()["documents"]
        self.assertEqual(docs[0]["segment_index"], 0, [(d["segment_index"], d.get("caption")) for d in docs])

    def test_keyframes_are_tier_two_documents_with_objects(self):
        scene_ids = {d["document_id"]: d["segment_index"] for d in self.documents("scenes")}
        frames = self.documents("keyframes")
        self.assertEqual(len(frames), 3)
        by_scene = {}
        for f in frames:
            lineage = f["_internal"]["lineage"]
            self.assertEqual(lineage["root_object_id"], self.object_id)
            by_scene[scene_ids[lineage["source_document_id"]]] = f
        self.assertEqual(sorted(by_scene), [0, 1, 2])
        self.assertIn("sports ball", {o["label"] for o in by_scene[0]["objects"]})
        # the keyframe is the scene's thumbnail: 320 px wide
        self.assertEqual(by_scene[0]["width"], 320)

    def test_faces_come_from_the_portraits_scene(self):
        scene_ids = {d["document_id"]: d["segment_index"] for d in self.documents("scenes")}
        faces = self.documents("faces")
        scenes = [scene_ids[f["_internal"]["lineage"]["source_document_id"]] for f in faces]
        # the portrait's face, and maybe a player's small face in the match; none in the fruit
        self.assertIn(1, scenes)
        self.assertNotIn(2, scenes)
        best = max(faces, key=lambda f: f["detection_score"])
        self.assertEqual(scene_ids[best["_internal"]["lineage"]["source_document_id"]], 1)
        self.assertGreater(best["detection_score"], 0.9)

    def test_the_decomposition_tree_is_video_scenes_keyframes_and_faces(self):
        r = self.c.get(f"/v1/objects/{self.object_id}/decomposition-tree", params={"include_document_ids": "true"})
        self.assertEqual(r.status_code, 200, r.text)
        tree = r.json()["tree"]
        self.assertEqual(len(tree), 1)
        top = tree[0]
        self.assertEqual((top["collection_name"], top["tier"], top["document_count"]), ("scenes", 1, 3))
        children = {c["collection_name"]: c for c in top["children"]}
        self.assertEqual(sorted(children), ["faces", "keyframes"])
        self.assertEqual((children["keyframes"]["tier"], children["keyframes"]["document_count"]), (2, 3))
        faces = len(self.documents("faces"))
        self.assertEqual((children["faces"]["tier"], children["faces"]["document_count"]), (2, faces))


if __name__ == "__main__":
    unittest.main()
