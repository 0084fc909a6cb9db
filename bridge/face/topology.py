"""Facts about MediaPipe FaceMesh's 478-point topology that the rig and renderer need.

"Left"/"right" are the subject's own sides (ARKit's convention): the subject's left
eye appears on the image's right in an unmirrored photo. Contours are ordered.
"""

N_LANDMARKS = 478

# Lips: each contour runs from the subject's right mouth corner to the left one.
LIPS_OUTER_UPPER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LIPS_OUTER_LOWER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
LIPS_INNER_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIPS_INNER_LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
MOUTH_CORNER_RIGHT, MOUTH_CORNER_LEFT = 61, 291
INNER_LIP_TOP, INNER_LIP_BOTTOM = 13, 14

# Eyes: lids run from the outer corner to the inner corner.
EYE_RIGHT_UPPER = [33, 246, 161, 160, 159, 158, 157, 173, 133]
EYE_RIGHT_LOWER = [33, 7, 163, 144, 145, 153, 154, 155, 133]
EYE_LEFT_UPPER = [263, 466, 388, 387, 386, 385, 384, 398, 362]
EYE_LEFT_LOWER = [263, 249, 390, 373, 374, 380, 381, 382, 362]
EYE_OUTER_RIGHT, EYE_INNER_RIGHT = 33, 133
EYE_OUTER_LEFT, EYE_INNER_LEFT = 263, 362

IRIS_RIGHT = [468, 469, 470, 471, 472]  # centre first
IRIS_LEFT = [473, 474, 475, 476, 477]

# Brows: outer end first, inner end last; upper and lower edges.
BROW_RIGHT = [70, 63, 105, 66, 107, 46, 53, 52, 65, 55]
BROW_LEFT = [300, 293, 334, 296, 336, 276, 283, 282, 295, 285]
BROW_RIGHT_INNER, BROW_LEFT_INNER = [107, 55, 66, 65], [336, 285, 296, 295]
BROW_RIGHT_OUTER, BROW_LEFT_OUTER = [70, 46, 63, 53], [300, 276, 293, 283]

NOSE_TIP = 1
NOSE_ALA_RIGHT, NOSE_ALA_LEFT = 98, 327
CHIN = 152

# Closed outline of the face, clockwise from the top of the forehead.
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379,
             378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127,
             162, 21, 54, 103, 67, 109]

# Points that do not move with expression: used to estimate head pose (rigid alignment).
# The forehead (10, 151, 9, 109, 338, 67, 297) is not among them: its skin rises with the
# brows (frontalis), and fitting the head to it read a brow raise back as a tilt of the head
# plus mouth shapes (bench/expression.py).
RIGID = [33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 8, 234, 454, 127, 356, 93, 323]

INNER_MOUTH = LIPS_INNER_UPPER + LIPS_INNER_LOWER[-2:0:-1]  # closed polygon
