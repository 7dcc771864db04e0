"""The court: templates of real courts, camera calibration against them, and positions on the floor.

Pure geometry lives here (:mod:`templates`, :mod:`calibrate`, :mod:`importers`, :mod:`positions`,
:mod:`identity`, :mod:`assist`, :mod:`view`); the CLI commands and the report read and write files.
World frame everywhere: metres, the court's left-near corner at the origin, ``x`` along the length,
``y`` across, ``z`` up, the floor at ``z = 0`` (the frame ``multicam synth`` uses).
"""
