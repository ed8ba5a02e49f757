// relevo-scheduler: placeholder entry point until the scheduler lands (see the issues).
import Shared

print("relevo-scheduler: not implemented yet")
