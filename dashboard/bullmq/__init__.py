"""The BullMQ key layout (the only place a key is spelt) and every read. Reads only."""
