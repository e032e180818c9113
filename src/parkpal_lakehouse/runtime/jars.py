"""The JVM jar cache: pinned poms resolved once from Maven Central with `mvn`, then used offline.

Each jar set is declared once, with exact versions, in a small pom beside this module. The cache key
is the pom's content hash, so changing a version refetches and an unchanged pom never touches the
network: a warm cache is a folder of jars plus a manifest, read without calling Maven at all.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from parkpal_lakehouse.errors import JarFetchError, JvmNotFoundError

_MANIFEST = "manifest.txt"
# The version starts at the first "-<digit>" after which no "_" follows: spark-sql-kafka-0-10_2.13-4.2.0.jar
_VERSION_SUFFIX = re.compile(r"-\d[^_/]*\.jar$")


@dataclass(frozen=True)
class JarSet:
    """A named set of jars declared by one pom; `provided_by_pyspark` drops what pyspark ships."""

    name: str
    pom_file: str
    provided_by_pyspark: bool

    @property
    def pom(self) -> Path:
        return Path(str(resources.files("parkpal_lakehouse.runtime").joinpath(self.pom_file)))

    @property
    def cache_key(self) -> str:
        return hashlib.sha256(self.pom.read_bytes()).hexdigest()[:12]


# Delta Lake and Spark's Kafka source, loaded into the Spark driver.
SPARK_JARS = JarSet("spark", "spark-jars.pom.xml", provided_by_pyspark=True)
# Apache Kafka's broker, run by tests and benchmarks in its own JVM.
KAFKA_BROKER_JARS = JarSet("kafka-broker", "kafka-broker.pom.xml", provided_by_pyspark=False)


def cache_root() -> Path:
    """`$PARKPAL_JAR_CACHE`, else `$XDG_CACHE_HOME/parkpal/jars`, else `~/.cache/parkpal/jars`."""
    explicit = os.environ.get("PARKPAL_JAR_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "parkpal" / "jars"


def cache_dir(jar_set: JarSet) -> Path:
    return cache_root() / f"{jar_set.name}-{jar_set.cache_key}"


def cached_jars(jar_set: JarSet) -> list[Path] | None:
    """The jars of a warm cache, or None when the cache is cold or incomplete. Never fetches."""
    manifest = cache_dir(jar_set) / _MANIFEST
    if not manifest.is_file():
        return None
    jars = [cache_dir(jar_set) / line for line in manifest.read_text().split() if line]
    return jars if jars and all(j.is_file() for j in jars) else None


def ensure_jars(jar_set: JarSet, *, offline: bool = False) -> list[Path]:
    """The jar set's local paths: from the warm cache, else fetched once with `mvn` and cached.

    `offline=True` (or `PARKPAL_OFFLINE=1`) refuses to fetch and says how to warm the cache.
    """
    jars = cached_jars(jar_set)
    if jars is not None:
        return jars
    if offline or os.environ.get("PARKPAL_OFFLINE") == "1":
        raise JarFetchError(
            f"the {jar_set.name} jar cache at {cache_dir(jar_set)} is cold and fetching is off: "
            "run `parkpal setup` once with access to Maven Central"
        )
    return _fetch(jar_set)


def _fetch(jar_set: JarSet) -> list[Path]:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarFetchError(
            "Maven (mvn) is not on PATH, and it is needed once to fetch the pinned jars: "
            "install it (e.g. `apt-get install maven`) and run `parkpal setup`"
        )
    target = cache_dir(jar_set)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{jar_set.name}-", dir=target.parent))
    cmd = [
        mvn, "-B", "-q", "-f", str(jar_set.pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        reason = _first_error_line(result.stdout + result.stderr)
        raise JarFetchError(
            f"fetching the {jar_set.name} jars from Maven Central failed ({reason}): "
            "check network access to Maven Central and run `parkpal setup` again"
        )
    kept = _drop_provided(sorted(staging.glob("*.jar"))) if jar_set.provided_by_pyspark else sorted(
        staging.glob("*.jar")
    )
    for jar in set(staging.glob("*.jar")) - set(kept):
        jar.unlink()
    (staging / _MANIFEST).write_text("\n".join(j.name for j in kept) + "\n")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return [target / j.name for j in kept]


def _first_error_line(output: str) -> str:
    for line in output.splitlines():
        if "ERROR" in line:
            return re.sub(r"\x1b\[[0-9;]*m", "", line).replace("[ERROR]", "").strip()[:200]
    return "mvn exited non-zero"


def artifact_name(jar: str) -> str:
    """`hadoop-client-api-3.4.2.jar` -> `hadoop-client-api`."""
    return _VERSION_SUFFIX.sub("", jar)


# Transitive jars that pyspark supersedes even though the artifact name differs.
_SUPERSEDED = {"shims", "jackson-datatype-jdk8", "commons-logging"}  # jcl-over-slf4j, RoaringBitmap 1.x, jackson 2.21


def _drop_provided(jars: list[Path]) -> list[Path]:
    """Keep only jars whose artifact pyspark does not ship: pyspark's own versions win (scope provided)."""
    shipped = {artifact_name(j.name) for j in pyspark_jars_dir().glob("*.jar")}
    return [j for j in jars if artifact_name(j.name) not in shipped | _SUPERSEDED]


def pyspark_jars_dir() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


# The Java releases Spark 4.2 supports: 17, 21 and 25, the last from 25.0.3 (earlier 25s have a G1 bug that
# corrupted data, SPARK-55852). Others from 17 on start and are not refused; they are not chosen either.
SUPPORTED_JAVA = (17, 21, 25)
FIRST_SOUND_JAVA_25 = (25, 0, 3)
_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?(?:\.(\d+))?')


def java_version(version_output: str) -> tuple[int, int, int] | None:
    """(feature, interim, update) from `java -version`'s output (`version "25.0.3"` -> (25, 0, 3)), or None."""
    match = _JAVA_VERSION.search(version_output)
    return tuple(int(part or 0) for part in match.groups()) if match else None  # type: ignore[return-value]


def spark_supports(version: tuple[int, int, int]) -> bool:
    return version[0] in SUPPORTED_JAVA and (version[0] != 25 or version >= FIRST_SOUND_JAVA_25)


def _version_of(java: str) -> tuple[str, tuple[int, int, int] | None]:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    return (out.splitlines()[0] if out else "no version"), java_version(out)


def java_executable() -> str:
    """The `java` Spark will use (JAVA_HOME's, else the one on PATH); a one-line error when there is none,
    it is older than 17, or it is a Java 25 before 25.0.3."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise JvmNotFoundError(
            "no Java runtime found: Spark 4.2 needs Java 17, 21 or 25 "
            "(install OpenJDK 17, e.g. `apt-get install openjdk-17-jre-headless`, or set JAVA_HOME)"
        )
    first_line, version = _version_of(java)
    if version is None or version[0] < 17:
        raise JvmNotFoundError(f"{java} is not Java 17 or newer ({first_line}): Spark 4.2 needs Java 17, 21 or 25")
    if version[0] == 25 and version < FIRST_SOUND_JAVA_25:
        raise JvmNotFoundError(f"{java} is {first_line}: Java 25 before 25.0.3 can corrupt data under Spark "
                               "(SPARK-55852); update it, or set JAVA_HOME to a Java 17 or 21")
    return java


def supported_java_homes(jvm_dir: Path = Path("/usr/lib/jvm")) -> dict[Path, tuple[int, int, int]]:
    """The JDKs under `jvm_dir` (Debian's and Temurin's packages install there) that Spark 4.2 supports, by
    resolved home (a name and its symlinks count once), with their versions."""
    found: dict[Path, tuple[int, int, int]] = {}
    for java in sorted(jvm_dir.glob("*/bin/java")) if jvm_dir.is_dir() else []:
        home = java.parent.parent.resolve()
        if home in found or not os.access(java, os.X_OK):
            continue
        try:
            version = _version_of(str(java))[1]
        except OSError:  # not a program this machine runs (another architecture's JDK): not one to choose
            continue
        if version is not None and spark_supports(version):
            found[home] = version
    return found


def newest_supported_java_home(jvm_dir: Path = Path("/usr/lib/jvm")) -> Path | None:
    """The newest of `supported_java_homes`, or None. CI (`.ci/run`) runs on it when JAVA_HOME is not set: on
    the project's machines Temurin 25 beside OpenJDK 17, where the suite runs faster (issue 21,
    docs/ingestion.md)."""
    found = supported_java_homes(jvm_dir)
    return max(found, key=lambda home: (found[home], str(home))) if found else None


if __name__ == "__main__":  # `.ci/run`: the JDK to run on when JAVA_HOME is not set (an empty line: none found)
    print(newest_supported_java_home() or "")
