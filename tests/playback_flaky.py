"""A known librealsense behaviour the tests that need every frame of a recording must live with.

librealsense's non-real-time playback now and then loses framesets of a good recording: a reader
gets the last of 12 frames only, or 20 of 30 (seen in CI and here, in bursts, with one test process
as with two; not reproduced on demand: a consumer that stalls 4 s still gets every frame, and a
busy machine alone does not do it). The product reports such a loss as damage, with counts, which
is the right answer for a user; tests that need every frame (of a good file, or every readable
frame of a damaged one, whose exact counts and first-damage message they check) read the file
again (up to twice) instead of failing on librealsense's lost frames. The conftest gives this
mark to every test of the modules that run librealsense in-process (`rs_watchdog`, which also
ends its rare native hangs). A real regression fails all three runs.
"""

import pytest

retry_lost_frames = pytest.mark.flaky(reruns=2)
