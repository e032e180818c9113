package org.parkpal.sql;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.analysis.UnresolvedFunction;
import org.apache.spark.sql.catalyst.analysis.UnresolvedRelation;
import org.apache.spark.sql.catalyst.analysis.UnresolvedTableValuedFunction;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.SubqueryExpression;
import org.apache.spark.sql.catalyst.parser.ParameterContext;
import org.apache.spark.sql.catalyst.parser.ParseException;
import org.apache.spark.sql.catalyst.parser.ParserInterface;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;

import scala.Function1;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.BoxedUnit;

/**
 * The analyst SQL endpoint's guard (`parkpal sql serve`), a Spark session extension wrapping the SQL
 * parser. Once `lock()` is called, every statement an analyst sends must parse into a read of tables and
 * views of the allowed database (gold), or a read-only catalog listing: writes, DDL, SET, ADD JAR,
 * path-based reads (`parquet.`/x``), temporary views and functions, Java reflection and file functions
 * are refused before anything is resolved or run. A check rule on analysed plans refuses reflection
 * again, whatever the syntax that produced it.
 *
 * It checks the statement's own syntax tree (what the analyst wrote), not the plans Spark and Delta
 * build internally (Delta reads its log by path). It is an allow-list: a node not named here is refused.
 */
public final class ReadOnlyGoldGuard implements Function1<SparkSessionExtensions, BoxedUnit> {

    private static final AtomicBoolean LOCKED = new AtomicBoolean(false);

    /** What a SELECT parses into. */
    private static final Set<String> QUERY_NODES = new HashSet<>(Arrays.asList(
        "Project", "Filter", "Aggregate", "Join", "Sort", "GlobalLimit", "LocalLimit", "Offset", "Union",
        "Intersect", "Except", "Distinct", "Deduplicate", "Window", "SubqueryAlias", "UnresolvedRelation",
        "OneRowRelation", "LocalRelation", "UnresolvedInlineTable", "UnresolvedSubqueryColumnAliases", "Generate",
        "UnresolvedWith", "WithCTE", "CTERelationDef", "CTERelationRef", "Sample", "Tail", "Pivot", "Unpivot",
        "RepartitionByExpression", "UnresolvedHint", "WithWindowDefinition", "LateralJoin", "Subquery",
        "UnresolvedTableValuedFunction", "UnresolvedTVFAliases", "RelationTimeTravel", "Expand",
        "UnresolvedHaving", "NamedParametersSupport", "Range"));

    /** Catalog listings that change nothing (the endpoint's catalog holds the allowed database only). */
    private static final Set<String> LISTING_NODES = new HashSet<>(Arrays.asList(
        "ShowTables", "ShowTablesExtended", "ShowViews", "ShowNamespaces", "ShowColumns", "DescribeRelation",
        "DescribeColumn", "DescribeNamespace", "SetCatalogAndNamespace", "ShowFunctions", "DescribeFunction",
        "ShowCurrentNamespaceCommand", "ShowCatalogsCommand", "UnresolvedNamespace", "UnresolvedTableOrView",
        "UnresolvedFunctionName", "CurrentNamespace", "UnresolvedAttribute"));

    /** Functions that reach outside the query: Java reflection, file names, XML parsers. */
    private static final Set<String> FORBIDDEN_FUNCTIONS = new HashSet<>(Arrays.asList(
        "reflect", "java_method", "try_reflect", "input_file_name", "input_file_block_start",
        "input_file_block_length", "xpath", "xpath_boolean", "xpath_double", "xpath_float", "xpath_int",
        "xpath_long", "xpath_number", "xpath_short", "xpath_string", "from_xml", "schema_of_xml"));

    /** Expressions a statement may not hold: an `IDENTIFIER(...)` names its table or function only when
     *  analysed, after this check, so it could name silver or `reflect`; analysts need no such clause. */
    private static final Set<String> FORBIDDEN_EXPRESSIONS = new HashSet<>(Arrays.asList(
        "ExpressionWithUnresolvedIdentifier", "UnresolvedIdentifier"));

    /** Analysed expressions refused wherever they come from (a second line behind the parser check). */
    private static final Set<String> FORBIDDEN_ANALYSED = new HashSet<>(Arrays.asList(
        "CallMethodViaReflection", "TryReflect"));

    /** Table-valued functions that only make rows. */
    private static final Set<String> ALLOWED_TABLE_FUNCTIONS = new HashSet<>(Arrays.asList(
        "range", "explode", "explode_outer", "inline", "inline_outer", "posexplode", "posexplode_outer", "stack"));

    /** From now on every statement is checked; there is no way back (no unlock). */
    public static void lock() {
        LOCKED.set(true);
    }

    public static boolean isLocked() {
        return LOCKED.get();
    }

    private static String allowedDatabase() {
        return System.getProperty("parkpal.sql.database", "gold").toLowerCase(Locale.ROOT);
    }

    @Override
    public BoxedUnit apply(SparkSessionExtensions extensions) {
        extensions.injectParser((SparkSession session, ParserInterface delegate) -> new GuardedParser(delegate));
        extensions.injectCheckRule((SparkSession session) -> (LogicalPlan plan) -> {
            if (LOCKED.get()) {
                plan.foreachWithSubqueries((LogicalPlan node) -> {
                    scala.collection.Iterator<Expression> it = node.expressions().iterator();
                    while (it.hasNext()) {
                        it.next().foreach((Expression e) -> {
                            if (FORBIDDEN_ANALYSED.contains(e.getClass().getSimpleName())) {
                                refuse(e.prettyName() + "() is not allowed");
                            }
                            return BoxedUnit.UNIT;
                        });
                    }
                    return BoxedUnit.UNIT;
                });
            }
            return BoxedUnit.UNIT;
        });
        return BoxedUnit.UNIT;
    }

    static LogicalPlan checked(LogicalPlan plan) {
        if (LOCKED.get()) {
            checkPlan(plan);
        }
        return plan;
    }

    private static void refuse(String why) {
        throw new SecurityException("read-only analyst endpoint: " + why);
    }

    private static void checkPlan(LogicalPlan plan) {
        plan.foreach((LogicalPlan node) -> {
            checkNode(node);
            return BoxedUnit.UNIT;
        });
    }

    private static List<String> parts(Seq<String> seq) {
        return CollectionConverters.asJava(seq);
    }

    private static void checkNode(LogicalPlan node) {
        String name = node.getClass().getSimpleName();
        if (!QUERY_NODES.contains(name) && !LISTING_NODES.contains(name)) {
            refuse(name + " is not allowed: SELECT from " + allowedDatabase() + " tables and views only");
        }
        if (node instanceof UnresolvedRelation) {
            checkTable(parts(((UnresolvedRelation) node).multipartIdentifier()));
        } else if (node instanceof UnresolvedTableValuedFunction) {
            List<String> fn = parts(((UnresolvedTableValuedFunction) node).name());
            String last = fn.get(fn.size() - 1).toLowerCase(Locale.ROOT);
            if (fn.size() != 1 || !ALLOWED_TABLE_FUNCTIONS.contains(last)) {
                refuse("table function " + String.join(".", fn) + " is not allowed");
            }
        }
        scala.collection.Iterator<Expression> expressions = node.expressions().iterator();
        while (expressions.hasNext()) {
            expressions.next().foreach((Expression e) -> {
                checkExpression(e);
                return BoxedUnit.UNIT;
            });
        }
        scala.collection.Iterator<?> inner = node.innerChildren().iterator();
        while (inner.hasNext()) {
            Object child = inner.next();
            if (child instanceof LogicalPlan) {
                checkPlan((LogicalPlan) child);
            }
        }
    }

    private static void checkExpression(Expression e) {
        if (FORBIDDEN_EXPRESSIONS.contains(e.getClass().getSimpleName())) {
            refuse("IDENTIFIER(...) is not allowed: name tables and functions directly");
        }
        if (e instanceof UnresolvedFunction) {
            List<String> fn = parts(((UnresolvedFunction) e).nameParts());
            if (FORBIDDEN_FUNCTIONS.contains(fn.get(fn.size() - 1).toLowerCase(Locale.ROOT))) {
                refuse(String.join(".", fn) + "() is not allowed");
            }
        } else if (e instanceof SubqueryExpression) {
            checkPlan(((SubqueryExpression) e).plan());
        }
    }

    /** `t` (a CTE, or a table of the current database: default is empty), `gold.t`, `spark_catalog.gold.t`. */
    private static void checkTable(List<String> name) {
        String db = allowedDatabase();
        boolean ok = name.size() == 1
            || (name.size() == 2 && name.get(0).toLowerCase(Locale.ROOT).equals(db))
            || (name.size() == 3 && name.get(0).equalsIgnoreCase("spark_catalog")
                && name.get(1).toLowerCase(Locale.ROOT).equals(db));
        if (!ok) {
            refuse("only " + db + " tables and views can be read, not " + String.join(".", name));
        }
    }

    /** The session's parser with every statement checked. */
    static final class GuardedParser implements ParserInterface {
        private final ParserInterface delegate;

        GuardedParser(ParserInterface delegate) {
            this.delegate = delegate;
        }

        @Override
        public LogicalPlan parsePlan(String sqlText) throws ParseException {
            return checked(delegate.parsePlan(sqlText));
        }

        @Override
        public LogicalPlan parsePlanWithParameters(String sqlText, ParameterContext context) throws ParseException {
            return checked(delegate.parsePlanWithParameters(sqlText, context));
        }

        @Override
        public LogicalPlan parseQuery(String sqlText) throws ParseException {
            return checked(delegate.parseQuery(sqlText));
        }

        @Override
        public Expression parseExpression(String sqlText) throws ParseException {
            return delegate.parseExpression(sqlText);
        }

        @Override
        public TableIdentifier parseTableIdentifier(String sqlText) throws ParseException {
            return delegate.parseTableIdentifier(sqlText);
        }

        @Override
        public FunctionIdentifier parseFunctionIdentifier(String sqlText) throws ParseException {
            return delegate.parseFunctionIdentifier(sqlText);
        }

        @Override
        public Seq<String> parseMultipartIdentifier(String sqlText) throws ParseException {
            return delegate.parseMultipartIdentifier(sqlText);
        }

        @Override
        public StructType parseRoutineParam(String sqlText) throws ParseException {
            return delegate.parseRoutineParam(sqlText);
        }

        @Override
        public StructType parseTableSchema(String sqlText) throws ParseException {
            return delegate.parseTableSchema(sqlText);
        }

        @Override
        public DataType parseDataType(String sqlText) throws ParseException {
            return delegate.parseDataType(sqlText);
        }
    }
}
