"""Small grey photographs for tests and experiments, cut from the sample data of Debian's opencv-doc.

Photos exercise a learner differently from synthetic images: JPEG blocking, sensor noise, large
flat regions and natural edge statistics. We keep a few centre crops, small enough to commit.

    cd /tmp && apt-get download opencv-doc && dpkg-deb -x opencv-doc_*.deb ocvdoc
    /usr/bin/python3 tools/make_photo_fixtures.py /tmp/ocvdoc/usr/share/doc/opencv-doc/examples/data
"""
import os
import sys

import cv2

SOURCES = ['baboon.jpg', 'fruits.jpg', 'building.jpg', 'butterfly.jpg', 'home.jpg', 'aero1.jpg']
SIZE = (160, 120)  # width, height

src = sys.argv[1]
out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'photos')
os.makedirs(out, exist_ok=True)
for name in SOURCES:
    img = cv2.imread(os.path.join(src, name), cv2.IMREAD_GRAYSCALE)
    h, w = img.shape
    # the largest centre crop with the target aspect ratio, then an area resize (no aliasing)
    cw = min(w, h * SIZE[0] // SIZE[1])
    ch = cw * SIZE[1] // SIZE[0]
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    crop = cv2.resize(img[y0:y0 + ch, x0:x0 + cw], SIZE, interpolation=cv2.INTER_AREA)
    cv2.imwrite(os.path.join(out, os.path.splitext(name)[0] + '.png'), crop)
    print(name, img.shape, '->', crop.shape)
