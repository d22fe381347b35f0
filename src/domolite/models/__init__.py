"""Domain values as data: records, enumerations, state machines and their transitions, the sizes accepted."""
