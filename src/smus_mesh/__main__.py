"""`python -m smus_mesh` is `smus-mesh`."""

from smus_mesh.cli import main

main()
