"""NYUv2-40 class ids as written in the dataset's Label PNGs (1-based; 0 = unlabelled).

The renderer stores these ids per mesh part; `assets.class_names()[id - 1]` is the name.
"""

from __future__ import annotations

from enum import IntEnum


class C(IntEnum):
    """NYU40 ids (1..40), the values the Label PNGs hold."""

    UNLABELLED = 0
    WALL = 1
    FLOOR = 2
    CABINET = 3
    BED = 4
    CHAIR = 5
    SOFA = 6
    TABLE = 7
    DOOR = 8
    WINDOW = 9
    BOOKSHELF = 10
    PICTURE = 11
    COUNTER = 12
    BLINDS = 13
    DESK = 14
    SHELVES = 15
    CURTAIN = 16
    DRESSER = 17
    PILLOW = 18
    MIRROR = 19
    FLOOR_MAT = 20
    CLOTHES = 21
    CEILING = 22
    BOOKS = 23
    REFRIGERATOR = 24
    TELEVISION = 25
    PAPER = 26
    TOWEL = 27
    SHOWER_CURTAIN = 28
    BOX = 29
    WHITEBOARD = 30
    PERSON = 31
    NIGHT_STAND = 32
    TOILET = 33
    SINK = 34
    LAMP = 35
    BATHTUB = 36
    BAG = 37
    OTHERSTRUCTURE = 38
    OTHERFURNITURE = 39
    OTHERPROP = 40
