// What the vision models saw in a picture, as document fields and as words.
// image_extractor (photos) and multimodal_extractor (video keyframes) write
// the same fields from the same code:
//   objects  [{label, score, bbox: [x1, y1, x2, y2]}], strongest first, in
//            the pixels of the picture (filter: objects.label in [...]).
//   faces    [{bbox, score}] of BlazeFace, best first.
//   caption  a sentence naming the objects ("A photo of two people and a
//            sports ball."), embedded in the text model's space so a query
//            such as "a man kicking a ball" finds the picture: no model here
//            writes captions, so the detector's labels stand in for one.
#pragma once

#include <string>
#include <vector>

#include "core/json_util.h"
#include "extract/models/face_models.h"
#include "extract/models/object_detector.h"

namespace strata::extract {

Json ObjectsJson(const std::vector<Detection>& detections);
Json FacesJson(const std::vector<DetectedFace>& faces, int width, int height);

// "<lead> a person, two dogs and an umbrella." (labels in order of their
// strongest detection, counted, with English articles and plurals); "" when
// there are none.
std::string ObjectCaption(const std::vector<Detection>& detections, const std::string& lead);

// The text a picture's text vector and full-text index are made of: the
// caption, then the text read in the picture. Either may be empty.
std::string DescriptionText(const std::string& caption, const std::string& ocr_text);

}  // namespace strata::extract
