#include "extract/transcript.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/json_util.h"

namespace strata::extract {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Lines without their "\r\n" / "\n" endings.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (nl == text.size()) break;
    start = nl + 1;
  }
  return out;
}

// "01:02:03.456", "02:03.456" (WebVTT may omit hours), "01:02:03,456" (SRT).
bool ParseTimestamp(std::string_view s, double* out) {
  s = Trim(s);
  double parts[3] = {0, 0, 0};
  int n = 0;
  size_t i = 0;
  while (i < s.size() && n < 3) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i) return false;
    parts[n++] = std::stod(std::string(s.substr(i, j - i)));
    if (j == s.size()) {
      i = j;
      break;
    }
    if (s[j] == ':') {
      i = j + 1;
      continue;
    }
    if (s[j] != '.' && s[j] != ',') return false;
    size_t k = j + 1;
    while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
    if (k == j + 1 || k != s.size()) return false;
    parts[n - 1] += std::stod("0." + std::string(s.substr(j + 1, k - j - 1)));
    i = k;
    break;
  }
  if (i != s.size() || n < 2) return false;
  *out = n == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : parts[0] * 60 + parts[1];
  return true;
}

// Drops markup: <i>, </b>, <v Speaker>, <00:00:01.000> (WebVTT) and {\an8} (SRT/ASS).
std::string StripTags(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char close = s[i] == '<' ? '>' : (s[i] == '{' && i + 1 < s.size() && s[i + 1] == '\\') ? '}' : '\0';
    if (close != '\0') {
      size_t end = s.find(close, i);
      if (end != std::string_view::npos) {
        i = end;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

void AppendText(std::string& text, std::string_view line) {
  std::string clean = StripTags(Trim(line));
  std::string_view t = Trim(clean);
  if (t.empty()) return;
  if (!text.empty()) text += ' ';
  text += t;
}

Status NotTimed() {
  return Status::Invalid("inputs.text",
                         "split_by time_segments needs a timed transcript (WebVTT, SRT, or JSON [{start, end, text}]); "
                         "no timed cue was found",
                         "value_error");
}

Status BadTiming(const std::string& where, std::string_view line) {
  return Status::Invalid("inputs.text", "transcript " + where + ": cannot read the timing '" + std::string(Trim(line)) +
                                            "' (expected HH:MM:SS.mmm --> HH:MM:SS.mmm)",
                         "value_error");
}

// WebVTT and SRT share the cue shape: an optional identifier line, a timing
// line "start --> end [settings]", then text lines up to a blank line.
Result<std::vector<Cue>> ParseCaptions(std::string_view text, bool vtt) {
  std::vector<Cue> cues;
  const auto lines = Lines(text);
  size_t i = vtt ? 1 : 0;  // WebVTT: the "WEBVTT ..." header line
  while (i < lines.size()) {
    std::string_view line = Trim(lines[i]);
    if (line.empty()) {
      ++i;
      continue;
    }
    if (vtt && (line.rfind("NOTE", 0) == 0 || line.rfind("STYLE", 0) == 0 || line.rfind("REGION", 0) == 0)) {
      while (i < lines.size() && !Trim(lines[i]).empty()) ++i;  // the block runs to a blank line
      continue;
    }
    if (line.find("-->") == std::string_view::npos) {
      ++i;  // a cue identifier (SRT's index)
      if (i >= lines.size() || lines[i].find("-->") == std::string_view::npos) {
        if (vtt && cues.empty()) continue;  // header metadata lines ("Kind: captions")
        if (cues.empty()) return NotTimed();  // prose, not captions
        return BadTiming("line " + std::to_string(i + 1), i < lines.size() ? lines[i] : "");
      }
      line = Trim(lines[i]);
    }
    const size_t arrow = line.find("-->");
    std::string_view end_part = Trim(line.substr(arrow + 3));
    end_part = end_part.substr(0, end_part.find_first_of(" \t"));  // WebVTT cue settings follow
    Cue cue;
    if (!ParseTimestamp(line.substr(0, arrow), &cue.start) || !ParseTimestamp(end_part, &cue.end)) {
      return BadTiming("line " + std::to_string(i + 1), line);
    }
    if (cue.end < cue.start) {
      return Status::Invalid("inputs.text", "transcript line " + std::to_string(i + 1) + ": the cue ends before it starts",
                             "value_error");
    }
    for (++i; i < lines.size() && !Trim(lines[i]).empty(); ++i) AppendText(cue.text, lines[i]);
    cues.push_back(std::move(cue));
  }
  return cues;
}

double NumberOr(const Json& o, std::initializer_list<const char*> keys, double fallback) {
  for (const char* k : keys) {
    if (o.contains(k) && o[k].is_number()) return o[k].get<double>();
  }
  return fallback;
}

Result<std::vector<Cue>> ParseJsonSegments(std::string_view text) {
  Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded()) return Status::Invalid("inputs.text", "transcript: not valid JSON", "value_error");
  const Json* list = &doc;
  if (doc.is_object()) {
    if (!doc.contains("segments") || !doc["segments"].is_array()) {
      return Status::Invalid("inputs.text", "transcript: a JSON object needs a 'segments' list", "value_error");
    }
    list = &doc["segments"];
  }
  if (!list->is_array()) return Status::Invalid("inputs.text", "transcript: expected a list of segments", "value_error");
  std::vector<Cue> cues;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& s = (*list)[i];
    const std::string at = "transcript segment " + std::to_string(i);
    if (!s.is_object()) return Status::Invalid("inputs.text", at + ": expected {start, end, text}", "type_error");
    Cue cue;
    cue.start = NumberOr(s, {"start", "start_time"}, NAN);
    cue.end = NumberOr(s, {"end", "end_time"}, NAN);
    if (std::isnan(cue.start) || std::isnan(cue.end)) {
      return Status::Invalid("inputs.text", at + ": needs numeric start and end (seconds)", "missing");
    }
    if (cue.end < cue.start) return Status::Invalid("inputs.text", at + ": ends before it starts", "value_error");
    for (const char* k : {"text", "transcription"}) {
      if (s.contains(k) && s[k].is_string()) {
        AppendText(cue.text, s[k].get<std::string>());
        break;
      }
    }
    cues.push_back(std::move(cue));
  }
  return cues;
}

}  // namespace

Result<std::vector<Cue>> ParseTranscript(std::string_view text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);  // byte order mark
  }
  std::string_view body = Trim(text);
  Result<std::vector<Cue>> cues = body.rfind("WEBVTT", 0) == 0              ? ParseCaptions(body, true)
                                  : (!body.empty() && (body[0] == '[' || body[0] == '{')) ? ParseJsonSegments(body)
                                                                                         : ParseCaptions(body, false);
  if (!cues.ok()) return cues.status();
  if (cues->empty()) return NotTimed();
  return cues;
}

std::vector<Cue> GroupCues(std::vector<Cue> cues, double segment_length_seconds) {
  std::stable_sort(cues.begin(), cues.end(), [](const Cue& a, const Cue& b) { return a.start < b.start; });
  std::vector<Cue> out;
  for (auto& cue : cues) {
    if (cue.text.empty()) continue;
    if (!out.empty() && cue.end <= out.back().start + segment_length_seconds) {
      out.back().end = std::max(out.back().end, cue.end);
      out.back().text += ' ';
      out.back().text += cue.text;
    } else {
      out.push_back(std::move(cue));
    }
  }
  return out;
}

}  // namespace strata::extract
