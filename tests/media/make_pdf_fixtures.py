"""Writes the PDF fixtures of the document-graph tests into a folder, with
their ground truth (expected.json): what each block of each page says and
what kind of block it is, and the words of the scanned page.

    python3 make_pdf_fixtures.py OUT_DIR

Needs python3-reportlab and python3-pil (Debian) and the DejaVu fonts
(fonts-dejavu-core) for the scanned page.
"""
import io
import json
import os
import sys

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib import colors
from reportlab.lib import pdfencrypt
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from reportlab.platypus import (ListFlowable, ListItem, PageBreak, Paragraph, SimpleDocTemplate, Spacer,
                                Table, TableStyle)

HEADER_1 = "Regional Water Quality Report"
PARAS_1 = [
    "This report summarises the water quality measured at four river stations during the spring season. "
    "Every sample was collected in the morning and analysed within one day of collection.",
    "Nitrate levels stayed below the regional limit at every station, although the northern creek showed "
    "a small rise after heavy rain in April.",
]
TABLE = [["Station", "Nitrate", "Status"],
         ["North Creek", "4.2", "Normal"],
         ["Mill Pond", "2.8", "Normal"],
         ["East Weir", "6.1", "Watch"]]
LIST = ["Sample weekly at each station", "Record the water temperature", "Report unusual colour at once"]
HEADER_2 = "Methods and Sampling"
PARAS_2 = [
    "Turbidity was measured with calibrated nephelometers, and each reading was repeated three times to "
    "reduce the error of a single measurement.",
    "Samples were stored in clean glass bottles, kept cold, and carried to the laboratory on the same day.",
]
SCANNED_LINES = [
    "The quick brown fox jumps over the lazy dog",
    "Clear water flows past the old stone bridge",
    "Seven workers measured every river station",
    "Reports arrive at the office each Monday",
]


def page_number(c, doc):
    c.setFont("Helvetica", 9)
    c.drawCentredString(letter[0] / 2, 30, str(doc.page))


def report(path):
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=11, leading=14, spaceAfter=12)
    h1 = ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=18, leading=22, spaceAfter=14)
    h2 = ParagraphStyle("h2", fontName="Helvetica-Bold", fontSize=15, leading=19, spaceAfter=12)
    item = ParagraphStyle("item", fontName="Helvetica", fontSize=11, leading=14)
    table = Table(TABLE, colWidths=[130, 80, 80], hAlign="LEFT")
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 11),
                               ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black)]))
    story = [Paragraph(HEADER_1, h1)] + [Paragraph(p, body) for p in PARAS_1]
    story += [table, Spacer(1, 18)]
    story += [ListFlowable([ListItem(Paragraph(t, item)) for t in LIST], bulletType="bullet", start="\u2022",
                           bulletFontName="Helvetica", bulletFontSize=11, leftIndent=18)]
    story += [PageBreak(), Paragraph(HEADER_2, h2)] + [Paragraph(p, body) for p in PARAS_2]
    doc = SimpleDocTemplate(path, pagesize=letter, leftMargin=72, rightMargin=72, topMargin=72, bottomMargin=72)
    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    table_text = "\n".join("\t".join(row) for row in TABLE)
    list_text = "\n".join("\u2022 " + t for t in LIST)
    return [
        {"blocks": [{"object_type": "header", "text": HEADER_1}]
                   + [{"object_type": "paragraph", "text": p} for p in PARAS_1]
                   + [{"object_type": "table", "text": table_text},
                      {"object_type": "list", "text": list_text},
                      {"object_type": "footer", "text": "1"}]},
        {"blocks": [{"object_type": "header", "text": HEADER_2}]
                   + [{"object_type": "paragraph", "text": p} for p in PARAS_2]
                   + [{"object_type": "footer", "text": "2"}]},
    ]


def scanned(path):
    # A page that is only a picture of text, as a scanner makes it: 300 dpi,
    # black text on white, no text layer.
    dpi = 300
    img = Image.new("L", (int(8.5 * dpi), int(11 * dpi)), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("DejaVuSans.ttf", 48)  # found among the system fonts
    y = 300
    for line in SCANNED_LINES:
        draw.text((300, y), line, fill=0, font=font)
        y += 60  # 1.25 line spacing, as printed text has
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    c = canvas.Canvas(path, pagesize=letter)
    c.drawImage(ImageReader(buf), 0, 0, width=letter[0], height=letter[1])
    c.showPage()
    c.save()
    return SCANNED_LINES


def encrypted(path):
    c = canvas.Canvas(path, pagesize=letter, encrypt=pdfencrypt.StandardEncryption("user-secret", "owner-secret"))
    c.drawString(72, 720, "Only for those who know the password.")
    c.showPage()
    c.save()


def many_pages(path, n):
    c = canvas.Canvas(path, pagesize=letter)
    for i in range(n):
        c.drawString(72, 720, f"Page {i + 1} of a long document.")
        c.showPage()
    c.save()


def main(out):
    os.makedirs(out, exist_ok=True)
    truth = {"report.pdf": report(os.path.join(out, "report.pdf")),
             "scanned.pdf": scanned(os.path.join(out, "scanned.pdf"))}
    encrypted(os.path.join(out, "encrypted.pdf"))
    many_pages(os.path.join(out, "five_pages.pdf"), 5)
    with open(os.path.join(out, "report.pdf"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.pdf"), "wb") as f:
        f.write(data[:300])  # the header and part of the first object: no page survives
    with open(os.path.join(out, "not_a_pdf.pdf"), "w") as f:
        f.write("This is a plain text file that only pretends to be a PDF by its name.\n")
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(truth, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
