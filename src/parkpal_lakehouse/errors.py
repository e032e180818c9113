"""Named errors. Each carries a one-line message that says what is wrong and what to do."""


class ParkPalError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero."""


class ConfigError(ParkPalError):
    """Configuration or arguments that cannot work."""


class JvmNotFoundError(ParkPalError):
    """No usable Java runtime for Spark."""


class JarFetchError(ParkPalError):
    """The pinned JVM jars could not be fetched from Maven Central."""


class EventContractError(ParkPalError):
    """An event that breaks the contract in docs/event-contract.md."""
