//! The annotated function, as the attribute reads it: its attributes, visibility and signature
//! as written, and its body, which the expansion retries: the `{ … }` of an `async fn`, or the
//! `async` block a plain `fn` (or `#[async_trait]`) ends in.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Expr, Signature, Visibility};

/// The annotated function. The body of an `async fn` is kept as raw tokens: the expansion never
/// looks inside it, and not parsing it keeps the macro fast on large functions and working on
/// half-typed ones.
pub struct RetryFn {
    /// Outer attributes, doc comments included, re-emitted untouched.
    pub attrs: Vec<Attribute>,
    /// The visibility, re-emitted untouched.
    pub vis: Visibility,
    /// The signature, re-emitted untouched.
    pub sig: Signature,
    /// The `{ … }` body, and what wrote it.
    pub body: Body,
}

/// The body of the annotated function.
pub enum Body {
    /// The `{ … }` of an `async fn`, as the user wrote it (or as a macro above this one left it).
    Async(Group),
    /// A plain `fn` that returns an `async` block, as the user wrote it or as `#[async_trait]`
    /// rewrote an `async fn`.
    Future(Box<FutureBody>),
    /// The body of any other function: not one `#[vta_retry]` can retry.
    Other(Group),
}

/// A plain `fn` whose body ends in an `async` block, boxed or not:
///
/// ```text
/// fn f(&self) -> impl Future<Output = Ret> + Send {
///     async move { USER BODY }                     // ← the attempt: the block's statements
/// }
///
/// // What `#[async_trait]` makes of an `async fn`:
/// fn f<'life0, 'async_trait>(&'life0 self) -> Pin<Box<dyn Future<Output = Ret> + Send + 'async_trait>> {
///     Box::pin(async move {
///         if let Some(__ret) = None::<Ret> { return __ret; }  // ties the type
///         let __self = self;                                   // the arguments, moved in once
///         let __ret: Ret = { USER BODY };                      // ← the attempt
///         __ret
///     })
/// }
/// ```
///
/// The arguments are moved into the future once, above the attempt, so retrying only the attempt
/// re-borrows them (`&mut self` included) each time, and the boxing and its `Send` bound are left
/// as they are.
pub struct FutureBody {
    /// The whole body, re-emitted with the attempt's block replaced by the retry loop.
    pub block: syn::Block,
    /// The type the attempt evaluates to: the future's `Output`.
    pub outcome: syn::Type,
}

impl FutureBody {
    /// Recognises the shapes above in a plain `fn`'s body.
    fn recognise(sig: &Signature, body: &Group) -> Option<Self> {
        let mut block: syn::Block = syn::parse2(body.to_token_stream()).ok()?;
        let outcome = Self::attempt(&mut block, sig)?.1;
        Some(Self { block, outcome })
    }

    /// The statements `#[async_trait]` puts before the user's body (the arguments moved in),
    /// when the body is its shape.
    pub fn moved_in(block: &mut syn::Block) -> Option<&[syn::Stmt]> {
        let future = ending_future(block)?;
        let body = future.block.stmts.iter().position(is_async_trait_body)?;
        Some(&future.block.stmts[..body])
    }

    /// The block to run once per attempt, with the type it evaluates to.
    pub fn attempt<'a>(
        block: &'a mut syn::Block,
        sig: &Signature,
    ) -> Option<(&'a mut syn::Block, syn::Type)> {
        let future = ending_future(block)?;
        let async_trait_body = future.block.stmts.iter().position(is_async_trait_body);
        if let Some(index) = async_trait_body {
            let syn::Stmt::Local(local) = &mut future.block.stmts[index] else {
                return None;
            };
            let syn::Pat::Type(typed) = &local.pat else {
                return None;
            };
            let outcome = (*typed.ty).clone();
            let Some(Expr::Block(user)) = local.init.as_mut().map(|init| &mut *init.expr) else {
                return None;
            };
            return Some((&mut user.block, outcome));
        }
        let outcome = future_output(&sig.output)?;
        Some((&mut future.block, outcome))
    }
}

/// `let __ret: Ret = { … };`, where `#[async_trait]` puts the user's body.
fn is_async_trait_body(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(local)
        if matches!(&local.pat, syn::Pat::Type(typed)
            if matches!(&*typed.pat, syn::Pat::Ident(ident) if ident.ident == "__ret"))
        && matches!(local.init.as_ref().map(|init| &*init.expr), Some(Expr::Block(_))))
}

/// The `async` block a plain `fn`'s body ends in: `async move { … }`, `Box::pin(async move { … })`,
/// or `async move { … }.boxed()` (futures' `FutureExt`, for its `BoxFuture`).
pub fn ending_future(block: &mut syn::Block) -> Option<&mut syn::ExprAsync> {
    let Some(syn::Stmt::Expr(last, None)) = block.stmts.last_mut() else {
        return None;
    };
    match last {
        Expr::Async(future) => Some(future),
        Expr::Call(call) if is_box_pin(call) => as_async(call.args.first_mut()?),
        Expr::MethodCall(call) if is_boxed(call) => as_async(&mut call.receiver),
        _ => None,
    }
}

/// The expression as an `async` block, if it is one.
fn as_async(expr: &mut Expr) -> Option<&mut syn::ExprAsync> {
    match expr {
        Expr::Async(future) => Some(future),
        _ => None,
    }
}

/// `.boxed()` or `.boxed_local()`, futures' `FutureExt` methods.
fn is_boxed(call: &syn::ExprMethodCall) -> bool {
    (call.method == "boxed" || call.method == "boxed_local") && call.args.is_empty()
}

/// `Box::pin(…)` with one argument, however `Box` is named.
fn is_box_pin(call: &syn::ExprCall) -> bool {
    let Expr::Path(callee) = &*call.func else {
        return false;
    };
    let mut segments = callee.path.segments.iter().rev();
    let is_pin = segments.next().is_some_and(|s| s.ident == "pin");
    let is_box = segments.next().is_some_and(|s| s.ident == "Box");
    is_pin && is_box && call.args.len() == 1
}

/// `T` in a return type `impl Future<Output = T> + …`, `Pin<Box<dyn Future<Output = T> + …>>`
/// or `BoxFuture<'_, T>`.
fn future_output(output: &syn::ReturnType) -> Option<syn::Type> {
    fn find(tokens: TokenStream) -> Option<syn::Type> {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            if let TokenTree::Ident(ident) = tree {
                let next_is_eq =
                    matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '=');
                if ident == "Output" && next_is_eq {
                    let rest: TokenStream = trees[i + 2..].iter().cloned().collect();
                    return syn::parse::Parser::parse2(
                        |input: ParseStream| {
                            let ty: syn::Type = input.parse()?;
                            input.parse::<TokenStream>()?;
                            Ok(ty)
                        },
                        rest,
                    )
                    .ok();
                }
            }
            if let TokenTree::Group(group) = tree {
                if let Some(found) = find(group.stream()) {
                    return Some(found);
                }
            }
        }
        None
    }
    match output {
        syn::ReturnType::Type(_, ty) => {
            find(ty.to_token_stream()).or_else(|| boxed_future_output(ty))
        }
        syn::ReturnType::Default => None,
    }
}

/// `T` in futures' aliases `BoxFuture<'a, T>` and `LocalBoxFuture<'a, T>`, however reached.
fn boxed_future_output(ty: &syn::Type) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "BoxFuture" && last.ident != "LocalBoxFuture" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    arguments
        .args
        .iter()
        .rev()
        .find_map(|argument| match argument {
            syn::GenericArgument::Type(output) => Some(output.clone()),
            _ => None,
        })
}

impl Parse for RetryFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let starts_a_fn = input.peek(syn::Token![async])
            || input.peek(syn::Token![fn])
            || input.peek(syn::Token![const])
            || input.peek(syn::Token![unsafe])
            || input.peek(syn::Token![extern]);
        if !starts_a_fn {
            return Err(input.error("`#[vta_retry]` goes on an `async fn`"));
        }
        let sig: Signature = input.parse()?;
        if input.peek(syn::Token![;]) {
            let semi: syn::Token![;] = input.parse()?;
            return Err(syn::Error::new(
                semi.span,
                "`#[vta_retry]` needs a function body to retry; put it on the implementation, not the declaration",
            ));
        }
        let body = match input.parse::<TokenTree>()? {
            TokenTree::Group(body) if body.delimiter() == Delimiter::Brace => body,
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "expected the function body `{ … }`",
                ));
            }
        };
        let body = if sig.asyncness.is_some() {
            Body::Async(body)
        } else if let Some(future) = FutureBody::recognise(&sig, &body) {
            Body::Future(Box::new(future))
        } else {
            Body::Other(body)
        };
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
        })
    }
}
