"""multicam: label players and the ball once on one camera, get their masks with the same
identities in every synchronized camera angle (SAM 2).

The path of a frame through the package::

    game (game file) -> clips (lazy decode) -> timeline (sync) -> layout (sequence)
      -> engine (SAM 2) -> rundir (run directory) -> report / evaluation / export / render
      -> dashboards (dashboards/, installed as multicam.dashboards)
"""

__version__ = "0.1.0"
