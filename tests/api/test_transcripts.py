"""text_extractor's split_by time_segments through the API: captions (SRT,
WebVTT) and JSON segment lists become documents with start and end times, and
a transcript that is not one ends as the object's structured error."""
import unittest

from harness import ApiTestCase, namespace_client
from test_engine import create_objects, submit, text_collection, wait_task

SRT = ("1\n00:00:00,000 --> 00:00:04,000\nWelcome to the harbour tour.\n\n"
       "2\n00:00:04,500 --> 00:00:09,000\nOn the left, the old lighthouse.\n\n"
       "3\n00:00:12,000 --> 00:00:15,000\nNow the fish market opens.\n\n"
       "4\n00:00:31,000 --> 00:00:33,500\nThank you for sailing with us.\n")
VTT = ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nvtt first\n\n"
       "00:00:30.000 --> 00:00:31.000 align:start\nvtt second\n")
JSON_SEGMENTS = '[{"start": 0.5, "end": 1.5, "text": "json one"}, {"start": 2, "end": 3, "text": "json two"}]'


class TranscriptTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = namespace_client(cls.server.base, "transcripts", cls.conformance)
        schema = {"properties": {"body": {"type": "string"}, "category": {"type": "string"},
                                 "n": {"type": "integer"}}}
        assert cls.c.post("/v1/buckets", {"bucket_name": "captions", "bucket_schema": schema}).status_code == 200
        r = cls.c.post("/v1/collections", text_collection(
            "segments", {"type": "bucket", "bucket_ids": ["captions"]},
            split_by="time_segments", segment_length_seconds=10))
        assert r.status_code == 200, r.text
        cls.collection = r.json()
        ids = create_objects(cls.c, "captions", [
            {"metadata": {"body": SRT, "category": "srt"}},
            {"metadata": {"body": VTT, "category": "vtt"}},
            {"metadata": {"body": JSON_SEGMENTS, "category": "json"}},
            {"metadata": {"body": "plain prose without any timing", "category": "plain"}},
        ])
        cls.object_ids = ids
        cls.batch_id, task_id = submit(cls.c, "captions", ids)
        cls.task = wait_task(cls.c, task_id)

    def segments(self, category):
        r = self.c.post("/v1/collections/segments/documents/list",
                        {"filters": {"category": category}, "sort": {"field": "chunk_index", "direction": "asc"}},
                        params={"limit": 100})
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["results"]

    def test_output_schema_declares_times(self):
        props = self.collection["output_schema"]["properties"]
        self.assertEqual(props["start_time"]["type"], "number")
        self.assertEqual(props["end_time"]["type"], "number")

    def test_srt_cues_grouped_into_ten_second_segments(self):
        docs = self.segments("srt")
        self.assertEqual([d["chunk_text"] for d in docs],
                         ["Welcome to the harbour tour. On the left, the old lighthouse.",
                          "Now the fish market opens.", "Thank you for sailing with us."])
        self.assertEqual([(d["start_time"], d["end_time"]) for d in docs], [(0, 9), (12, 15), (31, 33.5)])
        self.assertEqual({d["total_chunks"] for d in docs}, {3})

    def test_webvtt_and_json_segments(self):
        self.assertEqual([(d["chunk_text"], d["start_time"]) for d in self.segments("vtt")],
                         [("vtt first", 1), ("vtt second", 30)])
        self.assertEqual([d["chunk_text"] for d in self.segments("json")], ["json one json two"])

    def test_text_without_timing_is_the_objects_error(self):
        self.assertEqual(self.task["status"], "COMPLETED_WITH_ERRORS", self.task)
        self.assertEqual(self.segments("plain"), [])
        failed = self.c.get(f"/v1/buckets/captions/batches/{self.batch_id}/failed-documents").json()
        self.assertEqual([f["object_id"] for f in failed["failed_documents"]], [self.object_ids[3]])
        self.assertEqual(failed["failed_documents"][0]["error_type"], "validation")
        self.assertIn("timed transcript", failed["failed_documents"][0]["message"])

    def test_bad_segment_length_is_refused(self):
        r = self.c.post("/v1/collections", text_collection(
            "bad", {"type": "bucket", "bucket_ids": ["captions"]}, split_by="time_segments", segment_length_seconds=0))
        self.assertEqual(r.status_code, 422, r.text)
        self.assertIn("segment_length_seconds", r.text)


if __name__ == "__main__":
    unittest.main()
