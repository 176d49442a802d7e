"""Video mode: keyframes through the network, the frames between carried along the camera motion.

    from sgnet import Segmenter
    from sgnet.temporal import KeyframePolicy, VideoOptions, VideoSegmenter
    video = VideoSegmenter(Segmenter("sgnet_lite"), VideoOptions(KeyframePolicy(interval=3)))
    seg = video.segment(frame)        # same face as Segmenter.segment; seg.keyframe says which ran the network

docs/video.md has the design, the measurements and the methods compared.
"""

from sgnet.temporal.policy import AUTO, KeyframePolicy, parse_interval
from sgnet.temporal.video import VideoOptions, VideoSegmenter

__all__ = ["AUTO", "KeyframePolicy", "VideoOptions", "VideoSegmenter", "parse_interval"]
