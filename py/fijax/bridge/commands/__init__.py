"""FiJAX macro commands; each module registers its commands with the bridge's decorator."""
