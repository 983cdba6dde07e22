"""multimodal_extractor@v1 through the API: a video with hard cuts at known
times (ffmpeg lavfi shots) and a sentence spoken in its second scene
(espeak-ng) goes into a bucket; a collection splitting by scene writes one
document per scene with its times, frames and a keyframe thumbnail in
document_blobs; a search for a spoken word ranks that scene first; a file
that is not a video fails alone. An animated GIF (red, then a hard cut to
blue) uploaded into a `video` field is split at its cut; a PNG there is
refused."""
import base64
import os
import shutil
import subprocess
import tempfile
import unittest

import requests

from harness import ApiTestCase, Client
from test_engine import submit, wait_task

CUTS = [0.0, 3.0, 5.5, 8.0]  # scene starts; the video lasts 11 s
SHOTS = [("testsrc2", 3), ("smptebars", 2.5), ("color=c=red", 2.5), ("mandelbrot", 3)]
BM25 = "mixpeek://multimodal_extractor@v1/bm25"


def run(args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def speak(text, wav):
    # The US voice with the Klatt synthesiser: PocketSphinx hears it best.
    run(["espeak-ng", "-v", "en-us+klatt", "-w", wav, text])


def make_video(folder):
    """The scene video with "the president spoke about the economy" in scene 2
    (from 3.2 s) and "the weather is lovely today" in scene 4 (from 8.4 s)."""
    s2, s4, track = (os.path.join(folder, n) for n in ("s2.wav", "s4.wav", "track.wav"))
    speak("the president spoke about the economy", s2)
    speak("the weather is lovely today", s4)
    run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", s2, "-i", s4, "-filter_complex",
         "[0:a]adelay=3200[x];[1:a]adelay=8400[y];[x][y]amix=inputs=2:normalize=0,apad", "-t", "11",
         "-ar", "16000", "-ac", "1", track])
    args = ["ffmpeg", "-nostdin", "-y", "-loglevel", "error"]
    filt, labels = "", ""
    for i, (src, secs) in enumerate(SHOTS):
        sep = ":" if "=" in src else "="
        args += ["-f", "lavfi", "-t", str(secs), "-i", f"{src}{sep}s=640x360:r=25"]
        filt += f"[{i}:v]format=yuv420p,setsar=1[v{i}];"
        labels += f"[v{i}]"
    args += ["-i", track]
    filt += f"{labels}concat=n={len(SHOTS)}:v=1:a=0[v]"
    out = os.path.join(folder, "talk.mp4")
    run(args + ["-filter_complex", filt, "-map", "[v]", "-map", f"{len(SHOTS)}:a", "-c:v", "libx264",
                "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", out])
    with open(out, "rb") as f:
        return f.read()


def video_namespace(cls, namespace, bucket, more_fields=None):
    """A client bound to a new namespace registering multimodal_extractor,
    with a bucket whose `video` field (and `more_fields`) hold the videos."""
    c = Client(cls.server.base, conformance=cls.conformance)
    r = c.post("/v1/namespaces", {"namespace_name": namespace, "feature_extractors": [
        {"feature_extractor_name": "multimodal_extractor", "version": "v1"}]})
    assert r.status_code == 200, r.text
    c.namespace = namespace
    r = c.post("/v1/buckets", {"bucket_name": bucket, "bucket_schema": {"properties": {
        "video": {"type": "video"}, **(more_fields or {})}}})
    assert r.status_code == 200, r.text
    return c


def have_tools():
    if not shutil.which("ffmpeg") or not shutil.which("espeak-ng"):
        return False
    enc = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    return " libx264 " in enc


@unittest.skipUnless(have_tools(), "ffmpeg with libx264 and espeak-ng make the fixture; one is missing")
class VideoExtractorTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        folder = tempfile.mkdtemp(prefix="strata-video-")
        try:
            video = make_video(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        c = cls.c = video_namespace(cls, "videos", "clips", {"title": {"type": "string"}})
        r = c.post("/v1/collections", {
            "collection_name": "scenes", "source": {"type": "bucket", "bucket_ids": ["clips"]},
            "feature_extractor": {"feature_extractor_name": "multimodal_extractor", "version": "v1",
                                  "input_mappings": {"video": "video"}, "field_passthrough": ["title"],
                                  "parameters": {"split_method": "scene"}}})
        assert r.status_code == 200, r.text
        cls.collection = r.json()
        # The transcript's dense feature is named by the server's default text model.
        cls.dense = next(v["feature_uri"] for v in cls.collection["vector_indexes"]
                         if v["name"] == "multimodal_extractor_v1_transcription")
        ids = []
        cls.refused = {}
        # The talk, its first half (the mp4 index is written last: unreadable),
        # and a text file that says it is an mp4.
        for title, data in [("talk", video), ("half", video[:len(video) // 2]),
                            ("liar", b"Meeting notes, not a video at all.\n" * 20)]:
            r = c.post("/v1/buckets/clips/objects", {"title": title, "blobs": [
                {"property": "video", "type": "video",
                 "data": {"base64": base64.b64encode(data).decode(), "mime_type": "video/mp4",
                          "filename": title + ".mp4"}}]})
            if r.status_code == 200:
                ids.append(r.json()["object_id"])
            else:
                cls.refused[title] = r
        cls.object_ids = ids
        _, task = submit(c, "clips", ids)
        cls.task = wait_task(c, task, timeout=600)

    def scenes(self):
        r = self.c.post("/v1/collections/scenes/documents/list",
                        {"sort": {"field": "start_time", "direction": "asc"}},
                        params={"limit": 100})
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["results"]

    def test_collection_declares_the_outputs(self):
        props = self.collection["output_schema"]["properties"]
        for f in ("start_time", "end_time", "start_frame", "end_frame", "fps", "duration", "segment_index",
                  "transcription", "ocr_text", "width", "height", "title"):
            self.assertIn(f, props)
        uris = {v["feature_uri"] for v in self.collection["vector_indexes"]}
        self.assertIn(BM25, uris)
        self.assertIn(self.dense, uris)
        self.assertIn("mixpeek://multimodal_extractor@v1/visual_features", uris)

    def test_one_document_per_scene_with_times_and_thumbnails(self):
        self.assertIn(self.task["status"], ("COMPLETED", "COMPLETED_WITH_ERRORS"), self.task)
        docs = self.scenes()
        self.assertEqual(len(docs), 4, [d.get("start_time") for d in docs])
        for i, d in enumerate(docs):
            self.assertAlmostEqual(d["start_time"], CUTS[i], delta=0.2)
            end = CUTS[i + 1] if i + 1 < len(CUTS) else 11.0
            self.assertAlmostEqual(d["end_time"], end, delta=0.2)
            self.assertEqual(d["fps"], 25)
            self.assertEqual((d["width"], d["height"]), (640, 360))
            self.assertEqual(d["title"], "talk")
            self.assertEqual(d["segment_index"], i)
            self.assertAlmostEqual(d["start_frame"] / 25.0, d["start_time"], delta=0.01)
            thumbs = [b for b in d["document_blobs"] if b["field"] == "thumbnail"]
            self.assertEqual(len(thumbs), 1, d["document_blobs"])
            self.assertEqual(thumbs[0]["role"], "thumbnail")
            self.assertEqual(thumbs[0]["content_type"], "image/jpeg")
            one = self.c.get(f"/v1/collections/scenes/documents/{d['document_id']}",
                             params={"return_presigned_urls": "true"}).json()
            url = next(b["presigned_url"] for b in one["document_blobs"] if b["field"] == "thumbnail")
            body = requests.get(url, timeout=30)
            self.assertEqual(body.status_code, 200)
            self.assertEqual(body.content[:3], b"\xff\xd8\xff")  # a JPEG
        self.assertIn("economy", docs[1]["transcription"])
        self.assertEqual(docs[0]["transcription"], "")

    def test_search_by_a_spoken_word_ranks_its_scene_first(self):
        for uri in (BM25, self.dense):
            r = self.c.post("/v1/retrievers/execute", {
                "collection_identifiers": ["scenes"],
                "input_schema": {"query": {"type": "string", "required": True}},
                "inputs": {"query": "economy"},
                "stages": [{"stage_name": "search", "config": {"stage_id": "feature_search", "parameters": {
                    "searches": [{"feature_uri": uri, "query": "{{INPUT.query}}", "top_k": 10}],
                    "final_top_k": 10}}}]})
            self.assertEqual(r.status_code, 200, r.text)
            found = r.json()["documents"]
            self.assertTrue(found, uri)
            self.assertEqual(found[0]["segment_index"], 1, (uri, [d.get("segment_index") for d in found]))

    def test_broken_files_fail_alone(self):
        self.assertNotIn("talk", self.refused)
        self.assertNotIn("half", self.refused)
        # The text file is refused at ingestion (its bytes are not a video),
        # or, if taken, fails as an item of its own.
        if "liar" in self.refused:
            self.assertIn(self.refused["liar"].status_code, (400, 415, 422), self.refused["liar"].text)
        self.assertEqual(self.task["status"], "COMPLETED_WITH_ERRORS", self.task)
        self.assertEqual(len(self.scenes()), 4)

def make_gif(folder):
    """A 4 s animated GIF at 10 fps: solid red for 2 s, then a hard cut to
    solid blue for 2 s."""
    out = os.path.join(folder, "cut.gif")
    run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error",
         "-f", "lavfi", "-t", "2", "-i", "color=c=red:s=160x120:r=10",
         "-f", "lavfi", "-t", "2", "-i", "color=c=blue:s=160x120:r=10",
         "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", out])
    with open(out, "rb") as f:
        return f.read()


def make_png(folder):
    out = os.path.join(folder, "still.png")
    run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=64x64",
         "-frames:v", "1", out])
    with open(out, "rb") as f:
        return f.read()


@unittest.skipUnless(shutil.which("ffmpeg"), "the ffmpeg command line makes the fixture")
class GifDeclaredAsVideoTest(ApiTestCase):
    """An animated GIF uploaded into a bucket field of type video is taken
    (it is a video without sound) and split into scenes like any video; a
    still image in the same field is refused."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        folder = tempfile.mkdtemp(prefix="strata-gif-")
        try:
            gif, png = make_gif(folder), make_png(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        c = cls.c = video_namespace(cls, "gifs", "animations")
        r = c.post("/v1/collections", {
            "collection_name": "gif_scenes", "source": {"type": "bucket", "bucket_ids": ["animations"]},
            "feature_extractor": {"feature_extractor_name": "multimodal_extractor", "version": "v1",
                                  "input_mappings": {"video": "video"},
                                  "parameters": {"split_method": "scene"}}})
        assert r.status_code == 200, r.text

        def upload(data, mime, filename):
            return c.post("/v1/buckets/animations/objects", {"blobs": [
                {"property": "video", "type": "video",
                 "data": {"base64": base64.b64encode(data).decode(), "mime_type": mime, "filename": filename}}]})

        cls.gif_upload = upload(gif, "image/gif", "cut.gif")
        cls.png_upload = upload(png, "image/png", "still.png")
        cls.task = None
        if cls.gif_upload.status_code == 200:
            _, task = submit(c, "animations", [cls.gif_upload.json()["object_id"]])
            cls.task = wait_task(c, task, timeout=300)

    def test_gif_is_taken_into_a_video_field(self):
        self.assertEqual(self.gif_upload.status_code, 200, self.gif_upload.text)
        obj = self.c.get(f"/v1/buckets/animations/objects/{self.gif_upload.json()['object_id']}").json()
        blob = next(b for b in obj["blobs"] if b["property"] == "video")
        self.assertEqual(blob["details"]["mime_type"], "image/gif")

    def test_still_image_is_refused_in_a_video_field(self):
        body = self.assertError(self.png_upload, 422, "ValidationError")
        self.assertIn("image/png", body["error"]["message"])

    def test_gif_is_split_at_its_cut(self):
        self.assertIsNotNone(self.task, self.gif_upload.text)
        self.assertEqual(self.task["status"], "COMPLETED", self.task)
        r = self.c.post("/v1/collections/gif_scenes/documents/list",
                        {"sort": {"field": "start_time", "direction": "asc"}}, params={"limit": 100})
        self.assertEqual(r.status_code, 200, r.text)
        docs = r.json()["results"]
        self.assertEqual(len(docs), 2, [(d.get("start_time"), d.get("end_time")) for d in docs])
        self.assertAlmostEqual(docs[0]["start_time"], 0.0, delta=0.01)
        self.assertAlmostEqual(docs[0]["end_time"], 2.0, delta=0.2)
        self.assertAlmostEqual(docs[1]["start_time"], 2.0, delta=0.2)
        self.assertAlmostEqual(docs[1]["end_time"], 4.0, delta=0.2)
        # Every one of the 40 frames was decoded: the cut is frame 20 of 10 fps.
        self.assertEqual(docs[1]["fps"], 10)
        self.assertEqual((docs[1]["start_frame"], docs[1]["end_frame"]), (20, 40))
        self.assertEqual((docs[1]["width"], docs[1]["height"]), (160, 120))
        for i, d in enumerate(docs):
            self.assertEqual(d["segment_index"], i)
            thumbs = [b for b in d["document_blobs"] if b["field"] == "thumbnail"]
            self.assertEqual(len(thumbs), 1, d["document_blobs"])


if __name__ == "__main__":
    unittest.main()
