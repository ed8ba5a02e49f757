// relevo-worker: placeholder entry point until the worker lands (see the issues).
import Shared

print("relevo-worker: not implemented yet")
