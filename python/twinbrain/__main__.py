"""python3 -m twinbrain plot OUT.h5 ...: the plots of `twinbrain plot`."""
import sys

if len(sys.argv) > 1 and sys.argv[1] == "plot":
    from .plot import main
    sys.exit(main(sys.argv[2:]))
sys.exit("usage: python3 -m twinbrain plot OUT.h5 [-o FILE] [--what KIND,...]")
